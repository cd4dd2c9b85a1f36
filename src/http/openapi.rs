//! The OpenAPI 3.1 document served at `/openapi.json`. Written by hand next to the routes; a
//! test checks that it lists exactly [`super::ROUTES`] and that each of them answers.

use serde_json::{json, Value};

use super::routes::MAX_ID_CHARS;
use super::HttpConfig;

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// Example request bodies, accepted as they stand (a test sends each).
fn message_examples(many: bool) -> Value {
    let raw = json!({"raw": "From: Ann Lee <ann@example.org>\nSubject: Broken streetlight\n\nThe streetlight outside 12 Mill Lane has been out since Monday.\n"});
    let parts = json!({"id": "letter-17", "from": "Ann Lee <ann@example.org>", "subject": "Broken streetlight", "body": "The streetlight outside 12 Mill Lane has been out since Monday."});
    let mut examples = json!({
        "raw": {"summary": "A whole RFC 822 message", "value": raw},
        "parts": {"summary": "Sender, subject and body", "value": parts}
    });
    if many {
        examples["array"] = json!({"summary": "Several messages", "value": [raw, parts]});
    }
    examples
}

fn message_body(many: bool, config: &HttpConfig) -> Value {
    let json_schema = if many {
        json!({"oneOf": [
            {"$ref": "#/components/schemas/Message"},
            {"type": "array", "items": {"$ref": "#/components/schemas/Message"},
             "minItems": 1, "maxItems": config.max_messages}
        ]})
    } else {
        json!({"$ref": "#/components/schemas/Message"})
    };
    json!({
        "required": true,
        "content": {
            "message/rfc822": {"schema": {
                "type": "string", "format": "binary", "minLength": 1,
                "maxLength": config.max_body_bytes,
                "description": "The whole message as it was received."
            }},
            "application/json": {"schema": json_schema, "examples": message_examples(many)}
        }
    })
}

fn model_errors(mut responses: Value) -> Value {
    let extra = [
        ("400", "Malformed JSON."),
        (
            "401",
            "Missing or wrong bearer token (when the server has one).",
        ),
        ("413", "The body is larger than the server's cap."),
        (
            "415",
            "Content-Type is neither application/json nor message/rfc822.",
        ),
        (
            "422",
            "Invalid request, or a message that cannot be read or parsed.",
        ),
        (
            "429",
            "The model queue is full; retry after the Retry-After header's seconds.",
        ),
        (
            "503",
            "Models not ready yet (Retry-After), or the request timed out.",
        ),
        ("500", "Internal error (details are logged, not returned)."),
    ];
    if let Some(map) = responses.as_object_mut() {
        for (code, text) in extra {
            map.insert(code.to_string(), error_response(text));
        }
    }
    responses
}

fn json_ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The document, with the server's limits in the descriptions. One long function on purpose:
/// it is a single JSON literal that reads top to bottom as the served document does.
pub fn document(config: &HttpConfig) -> Value {
    let record = json!({"$ref": "#/components/schemas/Record"});
    let secured = json!([{"bearer": []}]);
    let open: Value = json!([]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mailroom",
            "version": crate::VERSION,
            "description": format!(
                "Classify and summarise email on your own machine. Bodies up to {} bytes; \
                 at most {} messages per /v1/triage array; requests time out after {} s.",
                config.max_body_bytes, config.max_messages, config.request_timeout.as_secs()
            )
        },
        "paths": {
            "/v1/triage": {"post": {
                "operationId": "triage",
                "summary": "Classify on every axis and summarise one message (or an array of a few).",
                "security": secured,
                "requestBody": message_body(true, config),
                "responses": model_errors(json!({"200": json_ok(
                    "The record (for one message) or the outputs in order (for an array: records and error records).",
                    json!({"oneOf": [record, {"type": "array", "items": {"oneOf": [record, {"$ref": "#/components/schemas/ErrorRecord"}]}}]})
                )}))
            }},
            "/v1/classify": {"post": {
                "operationId": "classify",
                "summary": "Classify one message on every axis (no summary).",
                "security": secured,
                "requestBody": message_body(false, config),
                "responses": model_errors(json!({"200": json_ok("The record, with `summary` null.", record)}))
            }},
            "/v1/summarize": {"post": {
                "operationId": "summarize",
                "summary": "Summarise one message (checked against the source).",
                "security": secured,
                "requestBody": message_body(false, config),
                "responses": model_errors(json!({"200": json_ok(
                    "The message id, source and summary, as `mailroom summarize` writes them.",
                    json!({"type": "object", "required": ["id", "source", "summary"], "properties": {
                        "id": {"type": "string"}, "source": {"type": "object"}, "summary": {"type": "object"}
                    }})
                )}))
            }},
            "/v1/models": {"get": {
                "operationId": "models",
                "summary": "The models (ids, SHA-256, roles), the axes and the taxonomy.",
                "security": secured,
                "responses": {
                    "200": json_ok("The models.", json!({"$ref": "#/components/schemas/Models"})),
                    "401": error_response("Missing or wrong bearer token."),
                    "503": error_response("Models not ready yet.")
                }
            }},
            "/healthz": {"get": {
                "operationId": "healthz",
                "summary": "The process is up (never needs a token).",
                "security": open,
                "responses": {"200": json_ok("Up.", json!({"type": "object"}))}
            }},
            "/readyz": {"get": {
                "operationId": "readyz",
                "summary": "The models are loaded and warmed (never needs a token).",
                "security": open,
                "responses": {
                    "200": json_ok("Ready.", json!({"type": "object"})),
                    "503": error_response("Loading, warming up, or shutting down.")
                }
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus text: requests by route and status, latency histograms, queue depth, tokens generated, labels per axis, review rate.",
                "security": secured,
                "responses": {
                    "200": {"description": "Prometheus text exposition format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": error_response("Missing or wrong bearer token.")
                }
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": secured,
                "responses": {
                    "200": json_ok("The OpenAPI document.", json!({"type": "object"})),
                    "401": error_response("Missing or wrong bearer token.")
                }
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "enum": [
                            "bad_json", "invalid_request", "unprocessable_message", "unsupported_media_type",
                            "body_too_large", "unauthorized", "not_found", "method_not_allowed",
                            "overloaded", "not_ready", "timeout", "internal"
                        ]},
                        "message": {"type": "string"}
                    }
                }}},
                "Message": {
                    "description": "One message: either `raw` (the whole RFC 822 message) or `body` with optional `from` and `subject`, never both. `id` names the message in the record (default: its Message-ID, else a server-made id). A field is left out rather than sent as null.",
                    "oneOf": [
                        {"$ref": "#/components/schemas/RawMessage"},
                        {"$ref": "#/components/schemas/PartsMessage"}
                    ]
                },
                "RawMessage": {
                    "type": "object",
                    "required": ["raw"],
                    "additionalProperties": false,
                    "properties": {
                        "id": {"$ref": "#/components/schemas/MessageId"},
                        "raw": {
                            "type": "string",
                            "description": "The whole message, headers and body. Not blank: it holds a character other than space, tab, CR, LF or form feed.",
                            "pattern": "[^\\t\\n\\f\\r ]"
                        }
                    }
                },
                "PartsMessage": {
                    "type": "object",
                    "required": ["body"],
                    "additionalProperties": false,
                    "properties": {
                        "id": {"$ref": "#/components/schemas/MessageId"},
                        "from": {"type": "string", "description": "The sender, as a From header would give it."},
                        "subject": {"type": "string"},
                        "body": {"type": "string", "description": "The body text (may be empty: the subject is then read)."}
                    }
                },
                "MessageId": {
                    "type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS,
                    "description": "A name for the message in the record, 1 to 512 characters."
                },
                "Record": {
                    "type": "object",
                    "description": "The triage record (schema `mailroom.triage/1`), as `mailroom triage` writes it.",
                    "required": ["schema", "id", "source", "input_sha256", "classification", "needs_review", "review", "models", "mailroom_version"],
                    "properties": {
                        "schema": {"type": "string"},
                        "id": {"type": "string"},
                        "classification": {"type": "array", "items": {"type": "object"}},
                        "needs_review": {"type": "boolean"},
                        "summary": {"type": ["object", "null"]}
                    }
                },
                "ErrorRecord": {
                    "type": "object",
                    "required": ["schema", "id", "source", "error"],
                    "properties": {
                        "id": {"type": "string"},
                        "error": {"type": "object", "properties": {
                            "stage": {"type": "string"}, "kind": {"type": "string"}, "message": {"type": "string"}
                        }}
                    }
                },
                "Models": {"type": "object", "properties": {
                    "models": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "sha256": {"type": "string"},
                        "role": {"type": "string", "enum": ["encoder", "generator", "head"]},
                        "used_by": {"type": "array", "items": {"type": "string"}}
                    }}},
                    "axes": {"type": "array", "items": {"type": "string"}},
                    "taxonomy": {"type": ["object", "null"]}
                }}
            }
        }
    })
}
