//! The demo province's citizen reports: 24 categories common in Vietnamese provinces with their
//! time limits, routed to Lai Châu's departments (and, for street-level matters, to the commune
//! People's Committees), and a history of reports over the last 60 days in every state, walked
//! through the real process (back-dated step by step) so every figure and list is the service's.

use std::collections::HashMap;

use anyhow::anyhow;
use haidang_core::accounts::{Role, Subject};
use haidang_core::repo::OrgRepository;
use haidang_core::reports::model::{Channel, Contact, ReportCategory, Route, Urgency};
use haidang_core::reports::{NewReport, ReporterRequest, StepRequest};
use haidang_server::state::AppState;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

const CATEGORIES_JSON: &str = include_str!("demo_report_categories.json");

#[derive(Deserialize)]
struct DemoCategory {
    #[serde(flatten)]
    category: ReportCategory,
    /// Street-level matters go to the commune's People's Committee.
    commune_level: bool,
}

/// A small deterministic generator, so the demo is the same on every machine.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const STREETS: &[&str] = &[
    "đường Trần Phú",
    "đường Lê Duẩn",
    "đường Võ Nguyên Giáp",
    "đường 30 Tháng 4",
    "đường Hoàng Văn Thụ",
    "quốc lộ 4D",
    "quốc lộ 32",
    "đường Nguyễn Chí Thanh",
    "bản Tả Chải",
    "bản Nậm Loỏng",
];

const NAMES: &[&str] = &[
    "Nguyễn Văn Hùng",
    "Lò Thị Mai",
    "Tẩn Láo Tả",
    "Vàng Thị Dung",
    "Trần Minh Đức",
    "Lù Văn Pâng",
    "Phạm Thu Hà",
];

/// Loads categories and routes (if none yet) and, when asked, the demo's report history.
pub async fn seed(state: &AppState, count: usize) -> anyhow::Result<()> {
    let cli = Subject::cli();
    if !state.reports.categories().await?.is_empty() {
        return Ok(());
    }
    let demo: Vec<DemoCategory> =
        serde_json::from_str(CATEGORIES_JSON).map_err(|e| anyhow!("demo categories: {e}"))?;
    let units = state.units.all_with_geometry().await?;
    let communes: Vec<String> = units
        .iter()
        .filter(|u| u.kind.is_local() && u.parent_code.as_deref() == Some(crate::demo::PROVINCE_CODE))
        .map(|u| u.code.clone())
        .collect();
    let mut routes = Vec::new();
    for d in &demo {
        routes.push(Route {
            category: d.category.code.clone(),
            unit_code: None,
            org_code: d.category.default_org.clone().unwrap_or_else(|| "vp-ubnd".into()),
        });
        if d.commune_level {
            for c in &communes {
                routes.push(Route {
                    category: d.category.code.clone(),
                    unit_code: Some(c.clone()),
                    org_code: format!("ubnd-{c}"),
                });
            }
        }
    }
    state.reports.put_categories(&cli, demo.iter().map(|d| d.category.clone()).collect()).await?;
    state.reports.put_routes(&cli, routes).await?;
    if count > 0 {
        seed_history(state, &demo, count).await?;
    }
    Ok(())
}

/// A point inside each commune (a short way off it for the n-th report).
async fn places(state: &AppState) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let points = crate::demo_stations::commune_points(state).await?;
    let index = state.unit_index();
    let mut out: Vec<(String, f64, f64)> = points
        .into_iter()
        .filter(|(c, _)| {
            index.unit(c).is_some_and(|u| {
                u.kind.is_local() && u.parent_code.as_deref() == Some(crate::demo::PROVINCE_CODE)
            })
        })
        .map(|(c, (lon, lat))| (c, lon, lat))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn officer_of(org_id: &str, org_code: &str) -> Subject {
    Subject {
        user_id: format!("demo:{org_code}"),
        username: format!("canbo.{org_code}"),
        role: Role::Officer,
        org_id: org_id.to_string(),
        acting_for: vec![],
        token_scopes: None,
        token_id: None,
        source_ip: None,
    }
}

/// Walks `count` reports through the process, back-dated over 60 days: the older a report, the
/// further along; some rejected, returned, awaiting information, overdue or reopened.
async fn seed_history(state: &AppState, demo: &[DemoCategory], count: usize) -> anyhow::Result<()> {
    let operator_user = state.accounts.find_user("operator").await.map_err(|e| anyhow!("operator: {e}"))?;
    let supervisor_user =
        state.accounts.find_user("supervisor").await.map_err(|e| anyhow!("supervisor: {e}"))?;
    let operator = Subject::of_user(&operator_user);
    let supervisor = Subject::of_user(&supervisor_user);
    let places = places(state).await?;
    let orgs: HashMap<String, String> =
        state.store.list_orgs().await?.into_iter().map(|o| (o.id, o.code)).collect();
    let mut dice = Dice(20_261_203);
    let now = haidang_core::time::now();
    let result = async {
        for i in 0..count {
            let d = demo.get(dice.below(demo.len() as u64) as usize).ok_or_else(|| anyhow!("no category"))?;
            let Some((commune, lon, lat)) = places.get(dice.below(places.len() as u64) as usize).cloned() else {
                return Err(anyhow!("no commune points"));
            };
            // The last few are fresh: some still in the queue, some just routed.
            let age_hours = match count - i {
                1..=3 => dice.below(5) as i64,
                4..=6 => 7 + dice.below(16) as i64,
                _ => dice.below(60 * 24) as i64,
            };
            let received = now - SignedDuration::from_hours(age_hours) - SignedDuration::from_mins(dice.below(600) as i64);
            let street = STREETS.get(dice.below(STREETS.len() as u64) as usize).copied().unwrap_or("");
            let keyword = d.category.keywords.first().cloned().unwrap_or_else(|| d.category.name_vi.to_lowercase());
            let anonymous = dice.chance(35);
            let name = NAMES.get(dice.below(NAMES.len() as u64) as usize).copied().unwrap_or("");
            let jitter = |n: u64| (n as f64 - 50.0) * 0.00002;
            let (dlon, dlat) = (jitter(dice.below(100)), jitter(dice.below(100)));
            let channel = [Channel::Web, Channel::App, Channel::Hotline, Channel::Email, Channel::Social]
                .get(dice.below(5) as usize)
                .copied()
                .unwrap_or(Channel::Web);
            let new = NewReport {
                category: d.category.code.clone(),
                description: format!(
                    "Người dân phản ánh tình trạng {keyword} tại {street}. Đề nghị cơ quan chức năng kiểm tra, xử lý sớm."
                ),
                lon: Some(lon + dlon),
                lat: Some(lat + dlat),
                address: Some(street.to_string()),
                unit_code: Some(commune.clone()),
                channel: Some(channel),
                urgency: if dice.chance(10) { Urgency::Urgent } else { Urgency::Ordinary },
                public: dice.chance(70),
                contact: (!anonymous).then(|| Contact {
                    name: Some(name.to_string()),
                    phone: Some(format!("09{:08}", dice.below(100_000_000))),
                    email: None,
                    id_number: None,
                }),
                consent: (!anonymous).then(|| "Để cơ quan xử lý liên hệ và thông báo kết quả".to_string()),
                attributes: d
                    .category
                    .attributes
                    .iter()
                    .filter(|a| a.required)
                    .filter_map(|a| a.values.first().map(|(k, _)| (a.code.clone(), k.clone())))
                    .collect(),
                media_urls: vec![],
                media_ids: vec![],
            };
            state.reports.set_time(Some(received));
            // A point just off a commune's edge can fall outside: the report keeps the commune.
            let receipt = match state.reports.intake(Some(&operator), new.clone()).await {
                Ok(r) => r,
                Err(_) => state.reports.intake(Some(&operator), NewReport { lon: None, lat: None, ..new }).await?,
            };
            let id = receipt.report.id.clone();
            walk(state, &mut dice, &operator, &supervisor, &orgs, &id, &receipt.tracking_code, received, now, i).await?;
        }
        Ok(())
    }
    .await;
    state.reports.set_time(None);
    result
}

#[allow(clippy::too_many_arguments)]
async fn walk(
    state: &AppState,
    dice: &mut Dice,
    operator: &Subject,
    supervisor: &Subject,
    orgs: &HashMap<String, String>,
    id: &str,
    code: &str,
    received: Timestamp,
    now: Timestamp,
    i: usize,
) -> anyhow::Result<()> {
    let r = &state.reports;
    let age = now.duration_since(received).as_hours();
    let mut at = received;
    let mut step = |hours: i64, request: StepRequest| {
        at = (at + SignedDuration::from_hours(hours)).min(now);
        (at, request)
    };
    let req = |name: &str| StepRequest { step: name.into(), ..StepRequest::default() };
    // The newest stay in the queue.
    if age < 6 {
        return Ok(());
    }
    if i % 13 == 5 {
        let (t, s) = step(
            2,
            StepRequest {
                reason: Some(if i.is_multiple_of(2) { "spam".into() } else { "out_of_scope".into() }),
                note: "Nội dung không thuộc phạm vi tiếp nhận".into(),
                ..req("reject")
            },
        );
        r.set_time(Some(t));
        r.act(operator, id, s).await?;
        return Ok(());
    }
    let (t, s) = step(1, StepRequest { note: "Đã xác minh qua điện thoại".into(), ..req("assign") });
    r.set_time(Some(t));
    let detail = r.act(operator, id, s).await?;
    let agency_id = detail.report.agency_id.clone().unwrap_or_default();
    let agency = officer_of(&agency_id, orgs.get(&agency_id).map(String::as_str).unwrap_or("agency"));
    if age < 24 {
        return Ok(());
    }
    if i % 17 == 3 {
        let (t, s) = step(
            20,
            StepRequest {
                note: "Nội dung không thuộc thẩm quyền của đơn vị".into(), ..req("return")
            },
        );
        r.set_time(Some(t));
        r.act(&agency, id, s).await?;
        return Ok(());
    }
    let (t, s) = step(4, req("accept"));
    r.set_time(Some(t));
    r.act(&agency, id, s).await?;
    let (t, s) = step(2, req("start"));
    r.set_time(Some(t));
    r.act(&agency, id, s).await?;
    if i % 11 == 4 && age < 24 * 20 {
        let (t, s) = step(
            6,
            StepRequest {
                note: "Đề nghị cung cấp thêm ảnh chụp và vị trí cụ thể".into(),
                ..req("request_info")
            },
        );
        r.set_time(Some(t));
        r.act(&agency, id, s).await?;
        return Ok(());
    }
    // Some are left in progress; those past their deadline show on the overdue list.
    if age < 24 * 4 || i % 9 == 2 {
        return Ok(());
    }
    let (t, s) = step(
        24 + dice.below(72) as i64,
        StepRequest {
            answer: Some("Đơn vị đã kiểm tra hiện trường và khắc phục xong.".into()),
            ..req("answer")
        },
    );
    r.set_time(Some(t));
    r.act(&agency, id, s).await?;
    if age < 24 * 6 {
        return Ok(());
    }
    let (t, s) = step(8, req("approve"));
    r.set_time(Some(t));
    r.act(supervisor, id, s).await?;
    if dice.chance(60) {
        let (t, _) = step(12, req("rate"));
        r.set_time(Some(t));
        let stars = [5, 5, 4, 4, 3, 2, 5].get(dice.below(7) as usize).copied().unwrap_or(4);
        r.reporter_act(
            code,
            ReporterRequest { step: "rate".into(), note: String::new(), rating: Some(stars) },
        )
        .await?;
    }
    Ok(())
}
