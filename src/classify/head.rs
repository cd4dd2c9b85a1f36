//! The head file: a trained classifier for one axis, as one safetensors file. Tensors hold the
//! weights and the hashed vocabularies; the header's `mailroom.head` metadata entry holds JSON
//! with the labels, feature set, encoder id and SHA-256, calibration, thresholds and training
//! metrics, so a head can be audited with any safetensors reader.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use super::calibrate::Calibration;
use super::features::{terms, FeatureSpec, Featurizer, Vocab};
use super::logreg::{softmax, LogReg, TrainOptions};
use super::review::ReviewPolicy;
use super::{AxisResult, ClassifyError, Document, Method};

/// The metadata key under which the JSON lives.
pub const METADATA_KEY: &str = "mailroom.head";
/// The format name in the JSON.
pub const FORMAT: &str = "mailroom-head";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 3;

/// The encoder a head was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderRef {
    /// Model id.
    pub id: String,
    /// SHA-256 of its weights.
    pub sha256: String,
}

/// The taxonomy whose axis a head decides, by name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxonomyRef {
    /// Taxonomy name.
    pub name: String,
    /// Taxonomy version.
    pub version: String,
}

impl std::fmt::Display for TaxonomyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// Cross-validated figures recorded at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingMetrics {
    /// Folds.
    pub folds: usize,
    /// Accuracy.
    pub accuracy: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// Accuracy on the 80 % most confident messages.
    pub accuracy_at_80: f64,
    /// Per-label F1, in label order.
    pub per_label_f1: Vec<f64>,
}

/// Everything about a head except its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The axis it decides.
    pub axis: String,
    /// Its labels, in output order.
    pub labels: Vec<String>,
    /// The features it reads.
    pub features: FeatureSpec,
    /// The encoder whose embeddings it reads (None when it uses no embedding).
    pub encoder: Option<EncoderRef>,
    /// The taxonomy its axis and labels come from (None: an axis of its own, or a head written
    /// before heads recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<TaxonomyRef>,
    /// Temperature calibration.
    pub calibration: Calibration,
    /// Review threshold on the top calibrated probability.
    pub review_threshold: f32,
    /// Labels whose decisions need another probability than `review_threshold` (e.g.
    /// `legitimate` on the junk axis).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label_review_thresholds: BTreeMap<String, f32>,
    /// Messages per label it was trained on.
    pub trained_on: Vec<usize>,
    /// Logistic regression options.
    pub options: TrainOptions,
    /// Seed for folds.
    pub seed: u64,
    /// Cross-validated metrics, when computed at training time.
    pub metrics: Option<TrainingMetrics>,
    /// The mailroom version that wrote it.
    pub mailroom_version: String,
    /// How a few-label head was built (prototypes, or prototypes blended into the logistic
    /// weights); None for a plain logistic head, so that such heads keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot: Option<FewShotMeta>,
}

/// How a few-label head was built. Its weights are still a linear model over the features (a
/// prototype is a weight row on the embedding columns), so it loads and runs like any head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewShotMeta {
    /// `prototype` (class means of the labelled embeddings mixed with the taxonomy's label
    /// prototypes) or `blend` (those prototypes added to the logistic head's logits).
    pub method: String,
    /// Weight of the taxonomy's label prototype, in messages (0: none was used).
    pub prior_weight: f32,
    /// The rule's statistic: the median number of labelled messages per label.
    pub median_per_label: usize,
}

/// A fitted model (what training produces, what a head is built from): vocabulary, weights
/// and calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The features.
    pub featurizer: Featurizer,
    /// The weights.
    pub model: LogReg,
    /// The calibration.
    pub calibration: Calibration,
    /// The L2 penalty it was fitted with (chosen by inner cross-validation when a grid was
    /// given).
    pub l2: f64,
    /// The prior shift folded into the biases (0: none).
    pub prior_shift: f32,
}

/// A trained head, ready to classify.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Metadata.
    pub meta: HeadMeta,
    /// Features.
    pub featurizer: Featurizer,
    /// Weights.
    pub model: LogReg,
    /// SHA-256 of the file it was read from (or would be written as).
    pub sha256: String,
}

/// safetensors writes its metadata map in hash order; the header's keys sorted, so that the
/// same head is always the same bytes (the shipped heads are pinned by SHA-256 and rebuilt
/// bit for bit). The sorted header has the same length, so no offset moves.
fn canonical_header(mut bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let bad = || "safetensors header out of range".to_string();
    let len: [u8; 8] = bytes
        .get(..8)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let n = usize::try_from(u64::from_le_bytes(len)).map_err(|_| bad())?;
    let raw = bytes.get(8..8 + n).ok_or_else(bad)?;
    let mut header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    if let Some(m) = header.remove("__metadata__") {
        let sorted: BTreeMap<String, String> =
            serde_json::from_value(m).map_err(|e| e.to_string())?;
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(sorted).map_err(|e| e.to_string())?,
        );
    }
    let mut text = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    if text.len() > n {
        return Err("sorted safetensors header is longer than the original".into());
    }
    text.resize(n, b' ');
    bytes[8..8 + n].copy_from_slice(&text);
    Ok(bytes)
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Head {
    /// A head from a fitted model.
    pub fn from_fitted(
        axis: &str,
        labels: Vec<String>,
        fitted: Fitted,
        encoder: Option<EncoderRef>,
        trained_on: Vec<usize>,
        options: TrainOptions,
        seed: u64,
    ) -> Head {
        let encoder = if fitted.featurizer.embedding_dim > 0 {
            encoder
        } else {
            None
        };
        Head {
            meta: HeadMeta {
                format: FORMAT.into(),
                format_version: FORMAT_VERSION,
                axis: axis.into(),
                labels,
                features: fitted.featurizer.spec.clone(),
                encoder,
                taxonomy: None,
                calibration: fitted.calibration,
                review_threshold: 0.5,
                label_review_thresholds: BTreeMap::new(),
                trained_on,
                options,
                seed,
                metrics: None,
                mailroom_version: crate::VERSION.into(),
                few_shot: None,
            },
            featurizer: fitted.featurizer,
            model: fitted.model,
            sha256: String::new(),
        }
    }

    /// Whether classifying needs the encoder embedding.
    pub fn needs_embedding(&self) -> bool {
        self.featurizer.embedding_dim > 0
    }

    /// Serialise to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let k = self.model.classes;
        let d = self.model.dim;
        let weight = bytes_f32(&self.model.weight);
        let bias = bytes_f32(&self.model.bias);
        let wh = bytes_u32(&self.featurizer.words.hashes);
        let wi = bytes_f32(&self.featurizer.words.idf);
        let ch = bytes_u32(&self.featurizer.chars.hashes);
        let ci = bytes_f32(&self.featurizer.chars.idf);
        let nw = self.featurizer.words.len();
        let nc = self.featurizer.chars.len();
        let e = |x: safetensors::SafeTensorError| x.to_string();
        let tensors = vec![
            (
                "weight",
                TensorView::new(Dtype::F32, vec![k, d], &weight).map_err(e)?,
            ),
            (
                "bias",
                TensorView::new(Dtype::F32, vec![k], &bias).map_err(e)?,
            ),
            (
                "words.hashes",
                TensorView::new(Dtype::U32, vec![nw], &wh).map_err(e)?,
            ),
            (
                "words.idf",
                TensorView::new(Dtype::F32, vec![nw], &wi).map_err(e)?,
            ),
            (
                "chars.hashes",
                TensorView::new(Dtype::U32, vec![nc], &ch).map_err(e)?,
            ),
            (
                "chars.idf",
                TensorView::new(Dtype::F32, vec![nc], &ci).map_err(e)?,
            ),
        ];
        let meta = serde_json::to_string(&self.meta).map_err(|x| x.to_string())?;
        let mut info = HashMap::new();
        info.insert(METADATA_KEY.to_string(), meta);
        info.insert(
            "embedding_dim".to_string(),
            self.featurizer.embedding_dim.to_string(),
        );
        canonical_header(safetensors::serialize(tensors, Some(info)).map_err(e)?)
    }

    /// Write the head to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ClassifyError> {
        let bytes = self.to_bytes().map_err(|reason| ClassifyError::Head {
            path: path.to_path_buf(),
            reason,
        })?;
        std::fs::write(path, bytes).map_err(|source| ClassifyError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Read a head from `path`.
    pub fn load(path: &Path) -> Result<Head, ClassifyError> {
        let bytes = std::fs::read(path).map_err(|source| ClassifyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Head::from_bytes(&bytes).map_err(|reason| ClassifyError::Head {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse safetensors bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Head, String> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
        let info = header.metadata().clone().unwrap_or_default();
        let json = info
            .get(METADATA_KEY)
            .ok_or("not a mailroom head (no mailroom.head metadata)")?;
        let meta: HeadMeta = serde_json::from_str(json).map_err(|e| format!("metadata: {e}"))?;
        if meta.format != FORMAT || meta.format_version != FORMAT_VERSION {
            return Err(format!(
                "format {} v{} is not {FORMAT} v{FORMAT_VERSION}",
                meta.format, meta.format_version
            ));
        }
        for (label, t) in &meta.label_review_thresholds {
            if !meta.labels.contains(label) || !(0.0..=1.0).contains(t) {
                return Err(format!(
                    "label review threshold {label}={t}: not one of its labels, or not in [0, 1]"
                ));
            }
        }
        let embedding_dim: usize = info
            .get("embedding_dim")
            .and_then(|s| s.parse().ok())
            .ok_or("missing embedding_dim")?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        let get = |name: &str, dtype: Dtype| -> Result<(Vec<usize>, Vec<u8>), String> {
            let t = st.tensor(name).map_err(|e| format!("{name}: {e}"))?;
            if t.dtype() != dtype {
                return Err(format!("{name}: dtype {:?}, expected {dtype:?}", t.dtype()));
            }
            Ok((t.shape().to_vec(), t.data().to_vec()))
        };
        let f32s = |b: Vec<u8>| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let u32s = |b: Vec<u8>| -> Vec<u32> {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let (wshape, w) = get("weight", Dtype::F32)?;
        let (_, b) = get("bias", Dtype::F32)?;
        let (_, wh) = get("words.hashes", Dtype::U32)?;
        let (_, wi) = get("words.idf", Dtype::F32)?;
        let (_, ch) = get("chars.hashes", Dtype::U32)?;
        let (_, ci) = get("chars.idf", Dtype::F32)?;
        if wshape.len() != 2 || wshape[0] != meta.labels.len() {
            return Err(format!(
                "weight shape {wshape:?} does not match {} labels",
                meta.labels.len()
            ));
        }
        let featurizer = Featurizer {
            spec: meta.features.clone(),
            words: Vocab {
                hashes: u32s(wh),
                idf: f32s(wi),
            },
            chars: Vocab {
                hashes: u32s(ch),
                idf: f32s(ci),
            },
            embedding_dim,
        };
        if featurizer.dim() != wshape[1] {
            return Err(format!(
                "feature width {} does not match weight {:?}",
                featurizer.dim(),
                wshape
            ));
        }
        let model = LogReg {
            classes: wshape[0],
            dim: wshape[1],
            weight: f32s(w),
            bias: f32s(b),
            iterations: 0,
            objective: f64::NAN,
        };
        use sha2::Digest;
        let sha256 = hex::encode(sha2::Sha256::digest(bytes));
        Ok(Head {
            meta,
            featurizer,
            model,
            sha256,
        })
    }

    /// Check that `encoder` (id, weights SHA-256) is the one this head was trained with.
    /// Refuse a head trained for another version of the loaded taxonomy (a head of another
    /// taxonomy, or of an axis of its own, is not this check's business).
    pub fn check_taxonomy(&self, path: &Path, loaded: &TaxonomyRef) -> Result<(), ClassifyError> {
        match &self.meta.taxonomy {
            Some(t) if t.name == loaded.name && t.version != loaded.version => {
                Err(ClassifyError::TaxonomyMismatch {
                    path: PathBuf::from(path),
                    expected: t.to_string(),
                    found: loaded.to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Refuse a head trained with another encoder than the one loaded.
    pub fn check_encoder(&self, path: &Path, id: &str, sha256: &str) -> Result<(), ClassifyError> {
        match &self.meta.encoder {
            Some(e) if e.sha256 != sha256 => Err(ClassifyError::EncoderMismatch {
                path: PathBuf::from(path),
                expected: e.id.clone(),
                expected_sha: e.sha256.clone(),
                found: format!("{id} (sha256 {sha256})"),
            }),
            _ => Ok(()),
        }
    }

    /// Calibrated label probabilities of one message.
    pub fn probabilities(
        &self,
        doc: &Document,
        embedding: Option<&[f32]>,
    ) -> Result<Vec<f32>, ClassifyError> {
        if self.needs_embedding() && embedding.is_none() {
            return Err(ClassifyError::Input(format!(
                "head for axis {} needs an embedding",
                self.meta.axis
            )));
        }
        let t = terms(doc, &self.featurizer.spec);
        let x = self.featurizer.transform(doc, &t, embedding);
        Ok(softmax(
            &self.model.logits(&x),
            self.meta.calibration.temperature,
        ))
    }

    /// Decide this head's axis for one message.
    pub fn classify(
        &self,
        doc: &Document,
        embedding: Option<&[f32]>,
        policy: &ReviewPolicy,
    ) -> Result<AxisResult, ClassifyError> {
        let p = self.probabilities(doc, embedding)?;
        Ok(AxisResult::decide(
            &self.meta.axis,
            &self.meta.labels,
            p,
            Method::Head,
            format!(
                "{}@{}",
                self.meta.axis,
                &self.sha256[..self.sha256.len().min(12)]
            ),
            &policy.for_axis(
                self.meta.review_threshold,
                &self.meta.label_review_thresholds,
            ),
            doc,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::fit::{fit, TrainConfig, TrainSet};

    #[test]
    fn round_trip_keeps_predictions() {
        let spec = FeatureSpec {
            min_df: 1,
            ..FeatureSpec::default()
        };
        let docs = vec![
            Document::new("invoice", "please pay the invoice"),
            Document::new("meeting", "see you at the meeting"),
            Document::new("invoice due", "invoice payment overdue"),
            Document::new("meeting friday", "meeting room booked friday"),
        ];
        let emb: Vec<Vec<f32>> = (0..4)
            .map(|i| vec![(i % 2) as f32, 1.0 - (i % 2) as f32])
            .collect();
        let set = TrainSet::new(
            vec!["pay".into(), "meet".into()],
            docs,
            vec![0, 1, 0, 1],
            emb,
            &spec,
        );
        let config = TrainConfig {
            features: spec,
            calibration_folds: 2,
            ..TrainConfig::default()
        };
        let fitted = fit(&set, &[0, 1, 2, 3], &config);
        let enc = EncoderRef {
            id: "fake".into(),
            sha256: "abc".into(),
        };
        let head = Head::from_fitted(
            "topic",
            set.labels.clone(),
            fitted,
            Some(enc),
            set.counts(),
            config.options,
            1,
        );
        let bytes = head.to_bytes().unwrap();
        let back = Head::from_bytes(&bytes).unwrap();
        assert_eq!(back.meta, head.meta);
        assert_eq!(back.featurizer, head.featurizer);
        let e = [0.0f32, 1.0];
        let a = head.probabilities(&set.docs[0], Some(&e)).unwrap();
        let b = back.probabilities(&set.docs[0], Some(&e)).unwrap();
        assert_eq!(a, b);
        assert!(back.needs_embedding());
        assert!(back.probabilities(&set.docs[0], None).is_err());
        assert!(back.check_encoder(Path::new("h"), "fake", "abc").is_ok());
        assert!(back.check_encoder(Path::new("h"), "other", "def").is_err());
        let r = back
            .classify(&set.docs[0], Some(&e), &ReviewPolicy::default())
            .unwrap();
        assert_eq!(r.axis, "topic");
        // The same head is the same bytes, whatever order the metadata map is written in.
        for _ in 0..20 {
            assert_eq!(head.to_bytes().unwrap(), bytes);
        }
        // A head of another version of its taxonomy is refused by name; of another taxonomy or
        // of an axis of its own, it is not this check's business.
        let mut tagged = back.clone();
        let t = |name: &str, version: &str| TaxonomyRef {
            name: name.into(),
            version: version.into(),
        };
        tagged.meta.taxonomy = Some(t("public-service", "1.0.1"));
        let err = tagged
            .check_taxonomy(Path::new("h"), &t("public-service", "1.1.0"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("public-service@1.0.1") && err.contains("1.1.0"),
            "{err}"
        );
        assert!(tagged
            .check_taxonomy(Path::new("h"), &t("public-service", "1.0.1"))
            .is_ok());
        assert!(tagged
            .check_taxonomy(Path::new("h"), &t("other", "2"))
            .is_ok());
        assert!(back
            .check_taxonomy(Path::new("h"), &t("public-service", "1.1.0"))
            .is_ok());
    }

    #[test]
    fn rejects_other_files() {
        let t = TensorView::new(Dtype::F32, vec![1], &[0, 0, 0, 0]).unwrap();
        let bytes = safetensors::serialize(vec![("x", t)], None).unwrap();
        assert!(Head::from_bytes(&bytes)
            .unwrap_err()
            .contains("not a mailroom head"));
        assert!(Head::from_bytes(b"garbage").is_err());
    }
}
