//! The hub's side of the datasets: who sees which entities (the catalog's visibility, applied to
//! every read), the catalog's replacement, and forms written all or nothing.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::context::ActiveContext;
use super::error::{ErrorType, HubError, HubResult};
use super::index::Placement;
use super::ops::{EntityOp, OpOutcome};
use super::service::HubService;
use super::writer::{read, Job};
use crate::accounts::Subject;
use crate::datasets::catalog::{Catalog, Visibility};
use crate::datasets::model::Submission;
use crate::repo::EntityRow;
use crate::time::now;

impl HubService {
    pub fn catalog(&self) -> Arc<Catalog> {
        read(&self.catalog).clone()
    }

    /// The datasets `by` may read now.
    pub fn visibility(&self, by: &Subject) -> Visibility {
        self.catalog().visibility(by, now())
    }

    /// Whether `by` may read entity `id` (false when it is not there).
    pub fn sees(&self, by: &Subject, id: &str) -> bool {
        read(&self.index).sees(id, &self.visibility(by))
    }

    /// A deleted entity's kept history is read under the datasets its types and owner point to
    /// (the narrowing by units or `q` needs the state it no longer has).
    pub(crate) fn deleted_visible(&self, visible: &Visibility, row: &EntityRow) -> bool {
        visible.sees(&self.catalog().of_owner(&row.types, row.owner_org.as_deref()))
    }

    /// Whether `by` may be told of a change to entity `id` (of `types`): by the entity's datasets
    /// while it is there; once deleted, by those its types and last owner point to.
    pub fn may_hear_of(&self, by: &Subject, id: &str, types: &[String]) -> bool {
        let visible = self.visibility(by);
        let index = read(&self.index);
        if index.contains(id) {
            return index.sees(id, &visible);
        }
        let catalog = self.catalog();
        let datasets = match index.deleted(id) {
            Some((owner, kept)) => catalog.of_owner(kept, owner),
            // Deleted with its history: every dataset of its types, so a closed one keeps it quiet.
            None => catalog.of_types(types),
        };
        visible.sees(&datasets)
    }

    /// What the index knows of entity `id` (types, units, datasets), if it is there.
    pub fn summary_of(&self, id: &str) -> Option<super::index::Summary> {
        read(&self.index).summary(id)
    }

    /// Where entity `id` is filed (units, datasets), if it is there.
    pub fn place_of(&self, id: &str) -> Option<Placement> {
        read(&self.index).summary(id).map(|s| s.place)
    }

    /// The entities of dataset `dataset_id` with their units, in creation order.
    pub fn members(&self, dataset_id: &str) -> Vec<(String, Vec<String>)> {
        match self.catalog().number_of(dataset_id) {
            Some(n) => read(&self.index).members_of(n),
            None => Vec::new(),
        }
    }

    /// The entities of type `type_iri` (expanded) with their units, in creation order: what a
    /// real-time indicator reads.
    pub fn placed_of_type(&self, type_iri: &str) -> Vec<(String, Vec<String>)> {
        read(&self.index).placed_of_type(type_iri)
    }

    /// Replaces the catalog; the entities of `types` (those whose datasets changed) are filed
    /// again by the writer, between two groups, so no write is filed under a mix of both.
    pub async fn set_catalog(&self, catalog: Catalog, types: Vec<String>) -> HubResult<()> {
        let (reply, answer) = oneshot::channel();
        let mut job = Job::new(Subject::cli(), "dataset.recatalog", Vec::new(), reply);
        job.recatalog = Some((Arc::new(catalog), types));
        self.writer.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())??;
        Ok(())
    }

    /// Files every entity again under its units and datasets (after an import of units).
    pub async fn refile_all(&self) -> HubResult<()> {
        let types = read(&self.index).type_names();
        self.set_catalog(self.catalog().as_ref().clone(), types).await
    }

    /// Publishes entities again as they are (their approval released them to subscribers).
    pub async fn announce(&self, by: &Subject, ids: Vec<String>) -> HubResult<()> {
        let context = self.active_context(None).await?;
        for chunk in ids.chunks(1000) {
            let ops = chunk.iter().map(|id| EntityOp::Announce(id.clone())).collect();
            self.write(by, "dataset.release", ops, context.clone()).await?;
        }
        Ok(())
    }

    /// Writes every operation or none, recording `submission` with them (a form's rows).
    pub async fn write_all_or_nothing(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<EntityOp>,
        context: Arc<ActiveContext>,
        submission: Option<Submission>,
    ) -> HubResult<Vec<HubResult<OpOutcome>>> {
        let (reply, answer) = oneshot::channel();
        let ops = ops.into_iter().map(|op| (op, context.clone())).collect();
        let mut job = Job::new(by.clone(), action, ops, reply);
        job.atomic = true;
        job.submission = submission;
        self.writer.send(job).await.map_err(|_| stopped())?;
        Ok(answer.await.map_err(|_| stopped())??)
    }
}

fn stopped() -> HubError {
    HubError::new(ErrorType::InternalError, "the entity writer has stopped")
}
