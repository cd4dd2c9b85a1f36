//! Training from a store's reviewed mail, shared by `mailroom train --from-store` and the
//! desk's Train button (which gets it as its [`Trainer`]): the examples and the head in use
//! come from the store, the head is trained and compared by `learn::from_store`, and the
//! result goes back to the store as a candidate.

use anyhow::Context;
use mailroom::desk::{TrainJob, TrainedHead, Trainer};
use mailroom::learn::compare::Comparison;
use mailroom::learn::from_store::{train_from_store, Current, StoreTrainRequest};
use mailroom::pipeline::{ModelSpec, StoreHead, TrainingExample};
use mailroom::store::NewHead;

/// Train a candidate for `req.axis` on `examples`, compared with the store's active head
/// `active` (else the shipped head, else zero-shot): the row to add, and the comparison.
pub fn candidate(
    examples: &[TrainingExample],
    active: Option<&StoreHead>,
    req: &StoreTrainRequest,
    models: &ModelSpec,
    progress: impl FnMut(usize, usize),
) -> anyhow::Result<(NewHead, Comparison)> {
    let current = match active {
        Some(h) => Current::from_store(h.id, &h.data)
            .with_context(|| format!("reading store head {}", h.id))?,
        None => Current::shipped(models, &req.axis)?,
    };
    let trained = train_from_store(examples, &current, req, models, progress)?;
    let meta = serde_json::json!({ "store": trained.meta, "head": trained.head.meta });
    let row = NewHead {
        axis: req.axis.clone(),
        data: trained.bytes,
        meta_json: meta.to_string(),
        metrics_json: Some(serde_json::to_string(&trained.comparison)?),
    };
    Ok((row, trained.comparison))
}

/// The desk's trainer: the same training, with the models the desk was started with.
pub struct DeskTrainer {
    /// The models.
    pub models: ModelSpec,
}

impl Trainer for DeskTrainer {
    fn train(&self, job: TrainJob) -> Result<TrainedHead, String> {
        let req = StoreTrainRequest::new(&job.axis);
        let (row, comparison) = candidate(
            &job.examples,
            job.active.as_ref(),
            &req,
            &self.models,
            |_, _| {},
        )
        .map_err(|e| format!("{e:#}"))?;
        Ok(TrainedHead {
            head: row,
            lines: comparison.lines(),
        })
    }
}
