//! The OpenAPI 3.1 document of the desk's contract, served at `GET /api/openapi.json`: the
//! `/api/` routes and `POST /login`. Written by hand beside the routes (as the engine's own API
//! does); a test checks that it lists exactly [`API_ROUTES`] and that each answers as it says.

use serde_json::{json, Value};

use super::DeskConfig;

/// The routes the document describes.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("POST", "/login"),
    ("GET", "/api/session"),
    ("GET", "/api/queue"),
    ("POST", "/api/messages"),
    ("GET", "/api/messages/{id}"),
    ("POST", "/api/messages/{id}/labels"),
    ("POST", "/api/messages/{id}/status"),
    ("GET", "/api/openapi.json"),
];

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn text_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "string"}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}})
}

/// The common answers of a route that needs a session (and of a write, its token).
fn guarded(mut responses: Value, write: bool) -> Value {
    if let Some(m) = responses.as_object_mut() {
        m.insert("401".into(), error("No session (log in with POST /login)."));
        if write {
            m.insert(
                "403".into(),
                error("Missing or wrong X-CSRF-Token, or a write sent from another site."),
            );
        }
    }
    responses
}

/// The document. One function on purpose: a single JSON literal that reads top to bottom as
/// the served document does.
pub fn document(config: &DeskConfig) -> Value {
    let session = json!([{"session": []}]);
    let write = json!([{"session": [], "csrf": []}]);
    let queue_params: Vec<Value> = vec![
        text_param("category", "Category label."),
        text_param("priority", "Priority label."),
        text_param("junk", "Junk label."),
        text_param(
            "review_reason",
            "A review reason (such as category:low_confidence).",
        ),
        text_param("status", "open, answered or no_reply_needed."),
        text_param("assignee", "An account name."),
        text_param("unassigned", "true: messages assigned to nobody."),
        text_param("conversation", "A conversation key."),
        text_param("needs_review", "true or false."),
        text_param(
            "q",
            "Words that must all occur in the subject, sender or text (three letters or more).",
        ),
        text_param(
            "grouped",
            "true: only messages in a group of near-duplicates (campaigns, repeats); false: only those in none.",
        ),
        json!({"name": "group", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0},
               "description": "A group id: only its members."}),
        text_param(
            "each",
            "true: one row per message. By default a group of near-duplicates is one row (its first member in queue order) whose represents says how many matching messages it stands for.",
        ),
        json!({"name": "order", "in": "query", "required": false,
               "description": "triage (urgent, needs review, oldest) or uncertain (help the model: messages nobody has reviewed, the least certain decision first).",
               "schema": {"type": "string", "enum": ["triage", "uncertain"], "default": "triage"}}),
        json!({"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}}),
        json!({"name": "limit", "in": "query", "required": false,
               "schema": {"type": "integer", "minimum": 1, "maximum": crate::store::MAX_LIMIT,
                          "default": config.page_size}}),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mailroom desk",
            "version": crate::VERSION,
            "description": format!(
                "The caseworkers' desk over the store. Log in with POST /login; the session \
                 cookie then authenticates every /api/ call, and every write sends the \
                 session's CSRF token (GET /api/session) in X-CSRF-Token. Sessions end after \
                 {} minutes unused. Bodies up to {} bytes.",
                config.session_idle.as_secs() / 60, config.max_body_bytes
            )
        },
        "paths": {
            "/login": {"post": {
                "operationId": "login",
                "summary": "Start a session: sets the HTTP-only session cookie and redirects (303) to the queue.",
                "security": [],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                                   "next": {"type": "string", "description": "A path on this site to go to after login."}}
                }}}},
                "responses": {
                    "303": {"description": "Logged in; Set-Cookie carries the session."},
                    "401": {"description": "Wrong name or password (the login page, as HTML)."},
                    "403": {"description": "The form was sent from another site."},
                    "429": {"description": "Too many failed logins; retry after the Retry-After header's seconds."}
                }
            }},
            "/api/session": {"get": {
                "operationId": "session",
                "summary": "The logged-in account, its role and the session's CSRF token.",
                "security": session,
                "responses": guarded(json!({"200": ok("The session.", json!({"$ref": "#/components/schemas/Session"}))}), false)
            }},
            "/api/queue": {"get": {
                "operationId": "queue",
                "summary": "A page of the queue (urgent first, then needs review, then oldest) with counts per filter value.",
                "security": session,
                "parameters": queue_params,
                "responses": guarded(json!({
                    "200": ok("The page.", json!({"$ref": "#/components/schemas/QueuePage"})),
                    "422": error("A filter value is not valid.")
                }), false)
            }},
            "/api/messages": {"post": {
                "operationId": "addMessage",
                "summary": "Triage a raw RFC 822 message and store it with its record (idempotent by the bytes' SHA-256).",
                "security": write,
                "requestBody": {"required": true, "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": guarded(json!({
                    "201": ok("Stored.", json!({"$ref": "#/components/schemas/Added"})),
                    "200": ok("Already stored; nothing changed.", json!({"$ref": "#/components/schemas/Added"})),
                    "202": ok("Queued for the workers (a desk started with --queue); `added` is false when it was queued before.", json!({"$ref": "#/components/schemas/Queued"})),
                    "413": {"description": "The body is larger than the desk's cap."},
                    "422": error("An empty message."),
                    "503": error("The models are still loading (Retry-After) or could not be loaded.")
                }), true)
            }},
            "/api/messages/{id}": {"get": {
                "operationId": "message",
                "summary": "A message: its queue entry, record, notes, corrections and conversation.",
                "security": session,
                "parameters": [id_param()],
                "responses": guarded(json!({
                    "200": ok("The message.", json!({"$ref": "#/components/schemas/Message"})),
                    "404": error("No such message.")
                }), false)
            }},
            "/api/messages/{id}/labels": {"post": {
                "operationId": "correct",
                "summary": "Set a label on one axis (a correction, audited); the message no longer needs review.",
                "security": write,
                "parameters": [id_param()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["axis", "label"], "additionalProperties": false,
                    "properties": {"axis": {"type": "string"}, "label": {"type": "string"}}
                }}}},
                "responses": guarded(json!({
                    "200": ok("The correction.", json!({"$ref": "#/components/schemas/Correction"})),
                    "404": error("No such message."),
                    "422": error("Not a label of that axis, or a malformed body.")
                }), true)
            }},
            "/api/messages/{id}/status": {"post": {
                "operationId": "setStatus",
                "summary": "Set the work status (audited).",
                "security": write,
                "parameters": [id_param()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status"], "additionalProperties": false,
                    "properties": {"status": {"$ref": "#/components/schemas/Status"}}
                }}}},
                "responses": guarded(json!({
                    "200": ok("The new status.", json!({"type": "object", "properties": {
                        "id": {"type": "integer"}, "status": {"$ref": "#/components/schemas/Status"}}})),
                    "404": error("No such message."),
                    "422": error("Not a status, or a malformed body.")
                }), true)
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": session,
                "responses": guarded(json!({"200": ok("The OpenAPI document.", json!({"type": "object"}))}), false)
            }}
        },
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": super::SESSION_COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "enum": [
                            "unauthorized", "forbidden", "not_found", "method_not_allowed",
                            "invalid_request", "not_ready", "engine_unavailable", "internal"
                        ]},
                        "message": {"type": "string"}
                    }
                }}},
                "Session": {"type": "object", "required": ["user", "role", "csrf_token"], "properties": {
                    "user": {"type": "string"}, "role": {"type": "string", "enum": ["reviewer", "admin"]},
                    "csrf_token": {"type": "string"}
                }},
                "Status": {"type": "string", "enum": ["open", "answered", "no_reply_needed"]},
                "Label": {"type": ["object", "null"], "properties": {
                    "label": {"type": "string"},
                    "probability": {"type": ["number", "null"], "description": "null once a person set the label"}
                }},
                "QueueItem": {"type": "object", "required": ["id", "urgent", "needs_review", "status"], "properties": {
                    "id": {"type": "integer"}, "sha256": {"type": "string"},
                    "date_ms": {"type": ["integer", "null"]}, "stored_at": {"type": "integer"},
                    "sender": {"type": ["string", "null"]}, "subject": {"type": ["string", "null"]},
                    "category": {"$ref": "#/components/schemas/Label"},
                    "priority": {"$ref": "#/components/schemas/Label"},
                    "junk": {"$ref": "#/components/schemas/Label"},
                    "urgent": {"type": "boolean"}, "needs_review": {"type": "boolean"},
                    "review_reasons": {"type": "array", "items": {"type": "string"}},
                    "is_error": {"type": "boolean"},
                    "status": {"$ref": "#/components/schemas/Status"},
                    "assignee": {"type": ["string", "null"]}, "reviewed_by": {"type": ["string", "null"]},
                    "conversation": {"type": ["string", "null"]}, "conversation_size": {"type": "integer"},
                    "group": {"type": ["integer", "null"], "description": "The group of near-duplicates (campaign, repeats) it belongs to."},
                    "group_size": {"type": "integer", "description": "Messages in its group (1 when alone)."},
                    "represents": {"type": "integer", "description": "Messages this row stands for (the group's members that match the filters; 1 with each=true)."},
                    "model_version": {"type": ["string", "null"]}, "taxonomy_version": {"type": ["string", "null"]}
                }},
                "FacetCount": {"type": "object", "properties": {
                    "value": {"type": ["string", "null"]}, "count": {"type": "integer"}}},
                "QueuePage": {"type": "object", "required": ["items", "total", "offset", "limit", "counts"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/QueueItem"}},
                    "total": {"type": "integer", "description": "Messages matching every filter."},
                    "rows": {"type": "integer", "description": "Rows of the whole queue (fewer than total when groups are collapsed): what offset and limit page through."},
                    "offset": {"type": "integer"}, "limit": {"type": "integer"},
                    "counts": {"type": "object", "additionalProperties": {
                        "type": "array", "items": {"$ref": "#/components/schemas/FacetCount"}}}
                }},
                "Correction": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "message_id": {"type": "integer"}, "axis": {"type": "string"},
                    "before": {"type": ["string", "null"]}, "after": {"type": "string"},
                    "actor": {"type": "string"}, "at_ms": {"type": "integer"}
                }},
                "Message": {"type": "object", "required": ["message", "record"], "properties": {
                    "message": {"$ref": "#/components/schemas/QueueItem"},
                    "header_message_id": {"type": ["string", "null"]},
                    "source": {"type": ["string", "null"]},
                    "raw_size": {"type": "integer"},
                    "record": {"type": "object", "description": "The triage record (schema mailroom.triage/1) or error record, as stored: the model's decision; corrections are listed apart."},
                    "notes": {"type": "array", "items": {"type": "object"}},
                    "corrections": {"type": "array", "items": {"$ref": "#/components/schemas/Correction"}},
                    "conversation": {"type": "array", "items": {"type": "integer"}, "description": "Ids of the conversation's messages, oldest first."}
                }},
                "Added": {"type": "object", "required": ["id", "added"], "properties": {
                    "id": {"type": "integer"}, "added": {"type": "boolean"},
                    "message": {"$ref": "#/components/schemas/QueueItem"}
                }},
                "Queued": {"type": "object", "required": ["job", "added"], "properties": {
                    "job": {"type": "integer"}, "added": {"type": "boolean"}
                }}
            }
        }
    })
}
