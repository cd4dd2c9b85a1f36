//! Chat templates: the model's own Jinja template from `tokenizer.chat_template`, rendered with
//! minijinja (plus the Python string methods HF templates use); ChatML when the file has none.

use minijinja::{context, Environment};
use serde::Serialize;

use super::ModelError;

/// One turn of a conversation.
#[derive(Debug, Clone, Serialize)]
pub struct Message<'a> {
    /// `system`, `user` or `assistant`.
    pub role: &'a str,
    /// The text of the turn.
    pub content: &'a str,
}

/// A chat template ready to render.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: Option<String>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// The template from the model (or ChatML when `source` is `None`).
    pub fn new(source: Option<String>, bos: String, eos: String) -> Self {
        ChatTemplate { source, bos, eos }
    }

    /// The prompt text for `messages`, ending where the assistant's turn begins.
    pub fn render(&self, messages: &[Message<'_>]) -> Result<String, ModelError> {
        let Some(source) = &self.source else {
            return Ok(chatml(messages));
        };
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    msg,
                ))
            },
        );
        env.add_template("chat", source)
            .map_err(|e| ModelError::Template(e.to_string()))?;
        let tmpl = env
            .get_template("chat")
            .map_err(|e| ModelError::Template(e.to_string()))?;
        tmpl.render(context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => self.bos,
            eos_token => self.eos,
        })
        .map_err(|e| ModelError::Template(e.to_string()))
    }
}

/// ChatML, the format of SmolLM2 and Qwen.
fn chatml(messages: &[Message<'_>]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(m.role);
        out.push('\n');
        out.push_str(m.content);
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_template_renders_chatml_with_default_system() {
        let t = ChatTemplate::new(
            Some(SMOLLM2.into()),
            "<|im_start|>".into(),
            "<|im_end|>".into(),
        );
        let out = t
            .render(&[Message {
                role: "user",
                content: "Hi",
            }])
            .unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let with_system = t
            .render(&[
                Message {
                    role: "system",
                    content: "S",
                },
                Message {
                    role: "user",
                    content: "U",
                },
            ])
            .unwrap();
        assert_eq!(
            with_system,
            chatml(&[
                Message {
                    role: "system",
                    content: "S"
                },
                Message {
                    role: "user",
                    content: "U"
                },
            ])
        );
    }

    #[test]
    fn python_string_methods_and_raise_exception_work() {
        let t = ChatTemplate::new(
            Some("{% if messages[0]['role'] == 'x' %}{{ raise_exception('no x') }}{% endif %}{{ messages[0]['content'].strip() }}".into()),
            String::new(),
            String::new(),
        );
        assert_eq!(
            t.render(&[Message {
                role: "user",
                content: "  a  "
            }])
            .unwrap(),
            "a"
        );
        let err = t
            .render(&[Message {
                role: "x",
                content: "",
            }])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no x"), "{err}");
    }
}
