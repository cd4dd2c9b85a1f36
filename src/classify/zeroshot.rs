//! Zero-shot decisions from the taxonomy: each label's description and examples are embedded
//! once; a message's label scores are cosines with them (the mean prototype, or the mean of the
//! `k` nearest examples), plus the label's bias, turned into probabilities by a softmax with the
//! axis temperature.

use std::collections::BTreeMap;

use super::review::ReviewPolicy;
use super::taxonomy::{Scoring, Taxonomy};
use super::{AxisResult, ClassifyError, Document, Embed, Method};

#[derive(Debug, Clone)]
struct AxisProtos {
    name: String,
    labels: Vec<String>,
    bias: Vec<f32>,
    /// Per label: the embeddings of its description and examples.
    examples: Vec<Vec<Vec<f32>>>,
    /// Per label: the normalised mean of `examples`.
    prototypes: Vec<Vec<f32>>,
    temperature: f32,
    threshold: f32,
    label_thresholds: BTreeMap<String, f32>,
    scoring: Scoring,
    top_k: usize,
}

/// An axis's label prototypes, label biases and temperature ([`ZeroShot::prototypes`]).
pub type LabelPrototypes<'a> = (&'a [Vec<f32>], &'a [f32], f32);

/// The taxonomy with its label embeddings.
#[derive(Debug, Clone)]
pub struct ZeroShot {
    taxonomy: Taxonomy,
    axes: Vec<AxisProtos>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalised_mean(vs: &[Vec<f32>]) -> Vec<f32> {
    let d = vs.first().map_or(0, Vec::len);
    let mut m = vec![0.0f32; d];
    for v in vs {
        for (a, b) in m.iter_mut().zip(v) {
            *a += b;
        }
    }
    let n = dot(&m, &m).sqrt().max(1e-12);
    m.iter_mut().for_each(|v| *v /= n);
    m
}

impl ZeroShot {
    /// Embed every label's description and examples with `encoder`.
    pub fn build(taxonomy: Taxonomy, encoder: &dyn Embed) -> Result<ZeroShot, ClassifyError> {
        let mut axes = Vec::new();
        for a in &taxonomy.axes {
            let mut examples = Vec::new();
            for l in &a.labels {
                let mut texts: Vec<&str> = vec![l.description.as_str()];
                texts.extend(l.examples.iter().map(String::as_str));
                examples.push(encoder.embed(&texts)?);
            }
            let prototypes = examples.iter().map(|e| normalised_mean(e)).collect();
            axes.push(AxisProtos {
                name: a.name.clone(),
                labels: a.label_names(),
                bias: a.labels.iter().map(|l| l.bias).collect(),
                examples,
                prototypes,
                temperature: a.temperature,
                threshold: a.review_threshold,
                label_thresholds: a.label_thresholds(),
                scoring: a.scoring,
                top_k: a.top_k.max(1),
            });
        }
        Ok(ZeroShot { taxonomy, axes })
    }

    /// The taxonomy.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The axes, in order.
    pub fn axes(&self) -> impl Iterator<Item = &str> {
        self.axes.iter().map(|a| a.name.as_str())
    }

    fn axis(&self, name: &str) -> Result<&AxisProtos, ClassifyError> {
        self.axes
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| ClassifyError::Input(format!("no zero-shot axis {name}")))
    }

    /// The labels of `axis`.
    pub fn labels(&self, axis: &str) -> Result<&[String], ClassifyError> {
        Ok(&self.axis(axis)?.labels)
    }

    /// The mean prototype of each label of `axis` (normalised, in label order), the labels'
    /// biases and the axis temperature: what a few-label head starts from.
    pub fn prototypes(&self, axis: &str) -> Result<LabelPrototypes<'_>, ClassifyError> {
        let a = self.axis(axis)?;
        Ok((&a.prototypes, &a.bias, a.temperature))
    }

    /// Raw label scores (cosine-based, before bias and temperature) of an embedding.
    pub fn scores(&self, axis: &str, embedding: &[f32]) -> Result<Vec<f32>, ClassifyError> {
        let a = self.axis(axis)?;
        Ok(match a.scoring {
            Scoring::Prototype => a.prototypes.iter().map(|p| dot(p, embedding)).collect(),
            Scoring::TopK => a
                .examples
                .iter()
                .map(|ex| {
                    let mut sims: Vec<f32> = ex.iter().map(|e| dot(e, embedding)).collect();
                    sims.sort_by(|x, y| y.total_cmp(x));
                    let k = a.top_k.min(sims.len()).max(1);
                    sims[..k].iter().sum::<f32>() / k as f32
                })
                .collect(),
        })
    }

    /// Label probabilities of a message on `axis`.
    pub fn probabilities(&self, axis: &str, embedding: &[f32]) -> Result<Vec<f32>, ClassifyError> {
        let a = self.axis(axis)?;
        let s: Vec<f32> = self
            .scores(axis, embedding)?
            .iter()
            .zip(&a.bias)
            .map(|(s, b)| s + b)
            .collect();
        Ok(super::logreg::softmax(&s, a.temperature))
    }

    /// Decide `axis` for one message.
    pub fn classify_axis(
        &self,
        axis: &str,
        doc: &Document,
        embedding: &[f32],
        policy: &ReviewPolicy,
    ) -> Result<AxisResult, ClassifyError> {
        let a = self.axis(axis)?;
        let p = self.probabilities(axis, embedding)?;
        Ok(AxisResult::decide(
            axis,
            &a.labels,
            p,
            Method::ZeroShot,
            self.taxonomy.id(),
            &policy.for_axis(a.threshold, &a.label_thresholds),
            doc,
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fake encoder: a bag of hashed words in 16 dimensions, normalised.
    pub(crate) struct FakeEncoder;

    impl FakeEncoder {
        fn one(t: &str) -> Vec<f32> {
            let mut v = vec![0.0f32; 16];
            for w in t.split_whitespace() {
                let h = w
                    .to_lowercase()
                    .bytes()
                    .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
                v[(h % 16) as usize] += 1.0;
            }
            let n = dot(&v, &v).sqrt().max(1e-12);
            v.iter().map(|x| x / n).collect()
        }
    }

    impl Embed for FakeEncoder {
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
            Ok(texts.iter().map(|t| Self::one(t)).collect())
        }
        fn embed_long(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ClassifyError> {
            self.embed(texts)
        }
        fn model_id(&self) -> &str {
            "fake"
        }
        fn sha256(&self) -> &str {
            "0000"
        }
    }

    #[test]
    fn probabilities_sum_to_one_on_every_axis() {
        let z = ZeroShot::build(Taxonomy::default_taxonomy(), &FakeEncoder).unwrap();
        let e = FakeEncoder::one("I want to complain about the late payment of my benefit");
        for axis in ["category", "priority", "junk"] {
            let p = z.probabilities(axis, &e).unwrap();
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            let r = z
                .classify_axis(axis, &Document::new("", "x"), &e, &ReviewPolicy::default())
                .unwrap();
            assert_eq!(r.method, Method::ZeroShot);
        }
        assert!(z.probabilities("nope", &e).is_err());
    }
}
