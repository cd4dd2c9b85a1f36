//! The taxonomy: named, versioned axes; per axis its labels, each with a description and example
//! sentences, the review threshold, and the zero-shot temperature. The default taxonomy for a
//! public-service inbox ships in `taxonomy/default.toml` and is compiled in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ClassifyError;

/// The default taxonomy's TOML source.
pub const DEFAULT_TOML: &str = include_str!("../../taxonomy/default.toml");

/// How zero-shot turns example similarities into a label score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Cosine with the mean of the label's description and example embeddings.
    Prototype,
    /// Mean of the `top_k` highest cosines with the label's examples.
    #[default]
    TopK,
}

/// One label of an axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Label name as it appears in output.
    pub name: String,
    /// Other names for it in labelled data (e.g. `ham` for `legitimate`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What the label means, in a sentence or two (also embedded as an example).
    pub description: String,
    /// Example sentences of mail with this label.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Added to the label's zero-shot score (before the temperature), to correct a label that
    /// the encoder favours or neglects; 0 unless measured.
    #[serde(default)]
    pub bias: f32,
    /// The probability a decision for this label needs, instead of the axis threshold (e.g.
    /// higher for `legitimate`, so that junk the model is unsure of reaches a person first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_threshold: Option<f32>,
}

/// One axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Axis name (`category`, `priority`, `junk`).
    pub name: String,
    /// What the axis is for.
    #[serde(default)]
    pub description: String,
    /// Below this top probability the decision goes to review.
    pub review_threshold: f32,
    /// Zero-shot softmax temperature over cosine scores.
    pub temperature: f32,
    /// Zero-shot scoring.
    #[serde(default)]
    pub scoring: Scoring,
    /// `k` for [`Scoring::TopK`].
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// The labels, in output order.
    #[serde(rename = "label")]
    pub labels: Vec<Label>,
}

fn default_top_k() -> usize {
    3
}

/// A taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Name.
    pub name: String,
    /// Version, recorded with every decision.
    pub version: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The axes.
    #[serde(rename = "axis")]
    pub axes: Vec<Axis>,
}

impl Taxonomy {
    /// Parse and validate a taxonomy from TOML.
    pub fn from_toml(src: &str) -> Result<Taxonomy, ClassifyError> {
        let t: Taxonomy =
            toml::from_str(src).map_err(|e| ClassifyError::Taxonomy(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    /// The default taxonomy for a public-service inbox.
    pub fn default_taxonomy() -> Taxonomy {
        // A unit test checks the shipped file parses, so this cannot fail in a release.
        Taxonomy::from_toml(DEFAULT_TOML).unwrap_or_else(|e| panic!("default taxonomy: {e}"))
    }

    /// Read a taxonomy file.
    pub fn load(path: &std::path::Path) -> Result<Taxonomy, ClassifyError> {
        let src = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Taxonomy::from_toml(&src)
    }

    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The axis called `name`.
    pub fn axis(&self, name: &str) -> Option<&Axis> {
        self.axes.iter().find(|a| a.name == name)
    }

    fn validate(&self) -> Result<(), ClassifyError> {
        let bad = |m: String| Err(ClassifyError::Taxonomy(m));
        if self.axes.is_empty() {
            return bad("no axes".into());
        }
        for (i, a) in self.axes.iter().enumerate() {
            if self.axes[..i].iter().any(|b| b.name == a.name) {
                return bad(format!("axis {} twice", a.name));
            }
            if a.labels.len() < 2 {
                return bad(format!("axis {} needs at least two labels", a.name));
            }
            if !(0.0..=1.0).contains(&a.review_threshold) {
                return bad(format!(
                    "axis {}: review_threshold must be in [0, 1]",
                    a.name
                ));
            }
            if a.temperature <= 0.0 {
                return bad(format!("axis {}: temperature must be positive", a.name));
            }
            for (j, l) in a.labels.iter().enumerate() {
                if a.labels[..j]
                    .iter()
                    .any(|m| m.name == l.name || m.aliases.contains(&l.name))
                {
                    return bad(format!("axis {}: label {} twice", a.name, l.name));
                }
                if l.review_threshold
                    .is_some_and(|t| !(0.0..=1.0).contains(&t))
                {
                    return bad(format!(
                        "axis {}: label {}: review_threshold must be in [0, 1]",
                        a.name, l.name
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Axis {
    /// Label names in order.
    pub fn label_names(&self) -> Vec<String> {
        self.labels.iter().map(|l| l.name.clone()).collect()
    }

    /// The labels with their own review threshold.
    pub fn label_thresholds(&self) -> BTreeMap<String, f32> {
        self.labels
            .iter()
            .filter_map(|l| l.review_threshold.map(|t| (l.name.clone(), t)))
            .collect()
    }

    /// The label a data label (name or alias) stands for.
    pub fn resolve_label(&self, data_label: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == data_label || l.aliases.iter().any(|a| a == data_label))
            .map(|l| l.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_parses_with_three_axes() {
        let t = Taxonomy::default_taxonomy();
        let names: Vec<&str> = t.axes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["category", "priority", "junk"]);
        let junk = t.axis("junk").unwrap();
        assert_eq!(junk.label_names(), ["legitimate", "spam", "phishing"]);
        assert_eq!(junk.resolve_label("ham"), Some("legitimate"));
        let cat = t.axis("category").unwrap();
        assert!((6..=10).contains(&cat.labels.len()));
        for a in &t.axes {
            for l in &a.labels {
                assert!(
                    l.examples.len() >= 5,
                    "{}/{} has few examples",
                    a.name,
                    l.name
                );
            }
        }
    }

    #[test]
    fn rejects_bad_taxonomies() {
        let one_label = r#"
            name = "x"
            version = "1"
            [[axis]]
            name = "a"
            review_threshold = 0.5
            temperature = 0.05
            [[axis.label]]
            name = "only"
            description = "d"
        "#;
        assert!(Taxonomy::from_toml(one_label).is_err());
        assert!(Taxonomy::from_toml("name = 1").is_err());
        let bad_label_threshold =
            WITH_LABEL_THRESHOLD.replace("review_threshold = 0.8", "review_threshold = 1.5");
        let e = Taxonomy::from_toml(&bad_label_threshold).unwrap_err();
        assert!(
            e.to_string().contains("label legitimate: review_threshold"),
            "{e}"
        );
    }

    /// A two-label junk axis whose `legitimate` label has its own review threshold.
    const WITH_LABEL_THRESHOLD: &str = r#"
        name = "x"
        version = "1"
        [[axis]]
        name = "junk"
        review_threshold = 0.5
        temperature = 0.05
        [[axis.label]]
        name = "legitimate"
        description = "d"
        review_threshold = 0.8
        [[axis.label]]
        name = "spam"
        description = "e"
    "#;

    #[test]
    fn a_label_may_carry_its_own_threshold() {
        let t = Taxonomy::from_toml(WITH_LABEL_THRESHOLD).unwrap();
        let labels = t.axis("junk").unwrap().label_thresholds();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels["legitimate"], 0.8);
        assert!(Taxonomy::default_taxonomy().axes[0]
            .label_thresholds()
            .is_empty());
    }
}
