//! Judging the datasets: each one's four scores over a window, the organisations ranked by
//! theirs, and who owes which data since when. The formulas are in `quality`; here the inputs
//! are gathered from the hub (members as they are now), the history and the write counts.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::liveness::last_update;
use super::model::{Dataset, DatasetState, Expected, WriteCounts};
use super::quality::{combine, compute, DatasetQuality, InstanceFact, MemberState, QualityInput, Scores};
use super::schedule::next_deadline;
use super::service::DatasetService;
use crate::accounts::Subject;
use crate::error::{CoreError, CoreResult};
use crate::hub::context::ActiveContext;
use crate::hub::placement::numeric_value;
use crate::time::now;

/// Attributes every entity may carry whatever its schema says (NGSI-LD's own and the Smart
/// Data Models' common ones).
const COMMON: [&str; 14] = [
    "location",
    "observationSpace",
    "operationSpace",
    "name",
    "description",
    "alternateName",
    "dateCreated",
    "dateModified",
    "source",
    "dataProvider",
    "owner",
    "seeAlso",
    "address",
    "areaServed",
];

#[derive(Debug, Clone, Serialize)]
pub struct OrgQuality {
    pub org_id: String,
    pub datasets: usize,
    pub scores: Scores,
}

/// What owes late data: a dataset of the hub, or an organisation's indicator figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverdueSource {
    Dataset,
    Indicators,
}

/// Data that is late: due since `since`, `late` of its `expected` entities (or figures)
/// behind. Indicator figures are listed under `dataset_id` "indicators" with their `period`.
#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    pub source: OverdueSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub dataset_id: String,
    pub dataset_name: String,
    pub provider_org: String,
    pub frequency: String,
    pub since: Timestamp,
    pub last_update: Option<Timestamp>,
    pub late: usize,
    pub expected: usize,
}

/// Property names a JSON Schema declares, through allOf/anyOf/oneOf.
pub(crate) fn schema_properties(schema: &Value, out: &mut HashSet<String>) {
    if let Some(Value::Object(p)) = schema.get("properties") {
        out.extend(p.keys().cloned());
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(parts)) = schema.get(key) {
            for part in parts {
                schema_properties(part, out);
            }
        }
    }
}

fn required(schema: &Value, out: &mut Vec<String>) {
    if let Some(Value::Array(r)) = schema.get("required") {
        out.extend(
            r.iter().filter_map(Value::as_str).filter(|n| *n != "id" && *n != "type").map(str::to_string),
        );
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            required(part, out);
        }
    }
}

impl DatasetService {
    /// The schema's attributes (expanded) and its required ones, if the type has a schema.
    fn schema_facts(&self, d: &Dataset) -> (Option<HashSet<String>>, Vec<String>) {
        let core = ActiveContext::core();
        let Ok((schema, _)) = self.hub.schema(&Subject::cli(), &d.type_iri) else {
            return (None, Vec::new());
        };
        let mut names = HashSet::new();
        schema_properties(&schema, &mut names);
        names.extend(COMMON.iter().map(|n| n.to_string()));
        let mut req = Vec::new();
        required(&schema, &mut req);
        let known = names.iter().map(|n| core.expand(n)).collect();
        (Some(known), req.iter().map(|n| core.expand(n)).collect())
    }

    async fn members_now(&self, d: &Dataset) -> CoreResult<Vec<MemberState>> {
        let members = self.hub.members(&d.id);
        let ids: Vec<String> = members.iter().map(|(id, _)| id.clone()).collect();
        let now_state = self.hub.entities_now(&ids).await?;
        Ok(members
            .into_iter()
            .map(|(id, units)| {
                let e = now_state.get(&id);
                MemberState {
                    last_update: e.and_then(last_update),
                    attrs: e.map(|e| e.attrs.keys().cloned().collect()).unwrap_or_default(),
                    units,
                    id,
                }
            })
            .collect())
    }

    /// The four scores of dataset `id` over [from, to).
    pub async fn quality(
        &self,
        by: &Subject,
        id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<DatasetQuality> {
        let d = self.get(by, id)?;
        if to <= from {
            return Err(CoreError::validation("to", "must be after from"));
        }
        self.quality_of(&d, from, to).await
    }

    async fn quality_of(&self, d: &Dataset, from: Timestamp, to: Timestamp) -> CoreResult<DatasetQuality> {
        let mut members = self.members_now(d).await?;
        let mut ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        if let Some(Expected::Entities(listed)) = &d.expected {
            ids.extend(listed.iter().filter(|l| !ids.contains(l)).cloned().collect::<Vec<_>>());
        }
        let instances = self
            .repo
            .instances_between(&ids, from, to)
            .await?
            .into_iter()
            .map(|r| InstanceFact {
                value: numeric_value(&r.body),
                entity_id: r.entity_id,
                attr: r.attr,
                at: r.at,
            })
            .collect::<Vec<_>>();
        // A window that ended in the past is judged by the readings before its end, not by
        // what came since.
        if to < now() - jiff::SignedDuration::from_mins(1) {
            for m in members.iter_mut() {
                m.last_update = instances.iter().filter(|i| i.entity_id == m.id).map(|i| i.at).max();
            }
        }
        let mut counts = WriteCounts::default();
        // Counts are kept per hour: an hour is in the window when it starts in it.
        for row in self.repo.write_counts(std::slice::from_ref(&d.id), from, to).await? {
            counts.add(row.counts);
        }
        let (known_attrs, schema_required) = self.schema_facts(d);
        let required = if d.rules.required.is_empty() { schema_required } else { d.rules.required.clone() };
        let input = QualityInput {
            dataset: d,
            from,
            to: to.min(now()),
            members,
            instances,
            counts,
            windows: self.repo.list_windows(Some(&d.id)).await?,
            known_attrs,
            required,
        };
        Ok(compute(&input))
    }

    /// Every organisation providing approved datasets `by` may see, best first.
    pub async fn ranking(&self, by: &Subject, from: Timestamp, to: Timestamp) -> CoreResult<Vec<OrgQuality>> {
        let mut per_org: BTreeMap<String, Vec<Scores>> = BTreeMap::new();
        for d in self.list(by).iter().filter(|d| d.state == DatasetState::Approved) {
            let q = self.quality_of(d, from, to).await?;
            per_org.entry(d.provider_org.clone()).or_default().push(q.scores);
        }
        let mut out: Vec<OrgQuality> = per_org
            .into_iter()
            .map(|(org_id, all)| OrgQuality { org_id, datasets: all.len(), scores: combine(&all) })
            .collect();
        out.sort_by(|a, b| {
            b.scores
                .overall
                .unwrap_or(-1.0)
                .total_cmp(&a.scores.overall.unwrap_or(-1.0))
                .then(a.org_id.cmp(&b.org_id))
        });
        Ok(out)
    }

    /// Approved datasets with data due and not come: since the first deadline an expected entity
    /// missed (for a form, the first Monday or Thursday without one), the longest late first.
    pub async fn overdue(&self, by: &Subject, at: Timestamp) -> CoreResult<Vec<Overdue>> {
        let mut out = Vec::new();
        for d in self.list(by).iter().filter(|d| d.state == DatasetState::Approved) {
            let start = d.approved_at.unwrap_or(d.created_at);
            let members = self.members_now(d).await?;
            let forms = self.repo.list_submissions(Some(&d.id), 1).await?;
            let last_form = forms.first().map(|s| s.submitted_at);
            // A form dataset owes the form itself, whatever the times of the figures in it.
            if d.frequency == super::model::Frequency::MondayThursday {
                let due = next_deadline(d, last_form.unwrap_or(start), last_form.is_some());
                if due <= at {
                    out.push(Overdue {
                        source: OverdueSource::Dataset,
                        period: None,
                        dataset_id: d.id.clone(),
                        dataset_name: d.name.clone(),
                        provider_org: d.provider_org.clone(),
                        frequency: d.frequency.as_text(),
                        since: due.max(start),
                        last_update: last_form,
                        late: 1,
                        expected: 1,
                    });
                }
                continue;
            }
            // Each expected entity's last update; those never seen count from the approval.
            let mut lasts: Vec<Option<Timestamp>> = match &d.expected {
                Some(Expected::Entities(listed)) => listed
                    .iter()
                    .map(|id| members.iter().find(|m| &m.id == id).and_then(|m| m.last_update))
                    .collect(),
                Some(Expected::PerUnit(counts)) => {
                    let mut all = Vec::new();
                    for (unit, n) in counts {
                        let mut here: Vec<Option<Timestamp>> = members
                            .iter()
                            .filter(|m| m.units.contains(unit))
                            .map(|m| m.last_update)
                            .collect();
                        here.sort_by(|a, b| b.cmp(a));
                        here.resize(*n as usize, None);
                        all.extend(here);
                    }
                    all
                }
                None => members.iter().map(|m| m.last_update).collect(),
            };
            if lasts.is_empty() {
                lasts.push(last_form);
            }
            let deadlines: Vec<Timestamp> = lasts
                .iter()
                .map(|l| next_deadline(d, l.or(last_form).unwrap_or(start), true))
                .filter(|due| *due <= at)
                .collect();
            // Nothing is owed from before the approval: a deadline missed earlier counts from it.
            if let Some(since) = deadlines.iter().min().map(|due| (*due).max(start)) {
                out.push(Overdue {
                    source: OverdueSource::Dataset,
                    period: None,
                    dataset_id: d.id.clone(),
                    dataset_name: d.name.clone(),
                    provider_org: d.provider_org.clone(),
                    frequency: d.frequency.as_text(),
                    since,
                    last_update: lasts.iter().flatten().max().copied().max(last_form),
                    late: deadlines.len(),
                    expected: lasts.len(),
                });
            }
        }
        out.sort_by_key(|o| o.since);
        Ok(out)
    }
}
