//! Accounts, for admins only (a reviewer gets 403 from every route here): the list, adding an
//! account, changing a role, disabling or enabling, setting a password. Each change is audited
//! by the store under the admin's name; changing a role or password ends that account's sessions.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{csrf, page};
use crate::desk::auth::{Admin, Checked, HasCsrf};
use crate::desk::error::{Fail, Page};
use crate::desk::DeskState;
use crate::store::{Role, MIN_PASSWORD_CHARS};

/// `GET /accounts`.
pub async fn show(State(state): State<DeskState>, Admin(user): Admin) -> Result<Markup, Page> {
    let accounts = state.store().accounts().await?;
    let role_select = |current: Role| {
        html! {
            select name="role" {
                @for r in [Role::Reviewer, Role::Admin] {
                    option value=(r.as_str()) selected[r == current] { (r.as_str()) }
                }
            }
        }
    };
    Ok(page(
        "Accounts",
        Some(&user),
        html! {
            h1 { "Accounts" }
            table.figures #accounts {
                thead { tr { th { "Name" } th { "Role" } th { "State" } th { "Password" } } }
                tbody { @for a in &accounts {
                    tr data-account=(a.name) {
                        td { (a.name) }
                        td { form method="post" action={ "/accounts/" (a.name) "/role" } {
                            (csrf(&user)) (role_select(a.role)) " " button type="submit" { "Set role" } } }
                        td { form method="post" action={ "/accounts/" (a.name) "/disabled" } {
                            (csrf(&user))
                            input type="hidden" name="disabled" value=(if a.disabled { "false" } else { "true" });
                            (if a.disabled { "disabled " } else { "active " })
                            button type="submit" { (if a.disabled { "Enable" } else { "Disable" }) } } }
                        td { form method="post" action={ "/accounts/" (a.name) "/password" } {
                            (csrf(&user))
                            label.skip for={ "pw-" (a.id) } { "New password for " (a.name) }
                            input id={ "pw-" (a.id) } type="password" name="password" autocomplete="new-password"
                                minlength=(MIN_PASSWORD_CHARS) required;
                            " " button type="submit" { "Set" } } }
                    }
                } }
            }
            h2 { "Add an account" }
            form.login method="post" action="/accounts" {
                (csrf(&user))
                label for="new-name" { "Name" }
                input #new-name name="name" required;
                label for="new-role" { "Role" }
                select #new-role name="role" { option value="reviewer" { "reviewer" } option value="admin" { "admin" } }
                label for="new-password" { "Password (at least " (MIN_PASSWORD_CHARS) " characters)" }
                input #new-password name="password" type="password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
                button.primary type="submit" { "Add" }
            }
        },
    ))
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    csrf: String,
    name: String,
    role: String,
    password: String,
}

impl HasCsrf for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn parse_role(s: &str) -> Result<Role, Fail> {
    s.parse()
        .map_err(|e: crate::store::StoreError| Fail::Invalid(e.to_string()))
}

fn back() -> Response {
    Redirect::to("/accounts").into_response()
}

/// `POST /accounts`.
pub async fn add(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Checked(f): Checked<AddForm>,
) -> Result<Response, Page> {
    let r = parse_role(&f.role)?;
    state
        .store()
        .add_account(&user.account.name, f.name.trim(), r, &f.password)
        .await?;
    Ok(back())
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

impl HasCsrf for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /accounts/{name}/role`.
pub async fn role(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Path(name): Path<String>,
    Checked(f): Checked<RoleForm>,
) -> Result<Response, Page> {
    let r = parse_role(&f.role)?;
    if name == user.account.name && r != Role::Admin {
        return Err(Fail::Invalid("You cannot take the admin role from yourself.".into()).into());
    }
    state.store().set_role(&user.account.name, &name, r).await?;
    Ok(back())
}

/// The disable form.
#[derive(Debug, Deserialize)]
pub struct DisableForm {
    csrf: String,
    disabled: String,
}

impl HasCsrf for DisableForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /accounts/{name}/disabled`.
pub async fn disabled(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Path(name): Path<String>,
    Checked(f): Checked<DisableForm>,
) -> Result<Response, Page> {
    let off = f.disabled == "true";
    if off && name == user.account.name {
        return Err(Fail::Invalid("You cannot disable your own account.".into()).into());
    }
    state
        .store()
        .set_disabled(&user.account.name, &name, off)
        .await?;
    Ok(back())
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: String,
    password: String,
}

impl HasCsrf for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /accounts/{name}/password`.
pub async fn password(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Path(name): Path<String>,
    Checked(f): Checked<PasswordForm>,
) -> Result<Response, Page> {
    state
        .store()
        .set_password(&user.account.name, &name, &f.password)
        .await?;
    Ok(back())
}
