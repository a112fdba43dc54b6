//! Reading the pages of a login: the forms an HTML page holds (with an HTML
//! parser, never regexes), which of them signs in and which consents, and
//! the fields a submission carries.
//!
//! The recipe, as keycloak-benchmark's scripted logins and a person at a
//! browser do it:
//! - a form with a password field signs in: the username goes in the first
//!   text or email field (or the one the target names), the password in the
//!   password field, hidden fields are kept, the submit button's name and
//!   value go along;
//! - a form without one asks for consent (or is a page posting itself on,
//!   hidden fields only): submitted with its approving button;
//! - a `<meta http-equiv="refresh">` is a redirect.

use scraper::{ElementRef, Html, Selector};

/// What the target may say about its forms (`login.form`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormHints {
    pub username_field: Option<String>,
    pub password_field: Option<String>,
    /// The name, value or text of the button that submits the login form.
    pub submit: Option<String>,
}

/// One input of a form, as the page has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    /// Lowercased; `text` when the page gives none.
    pub kind: String,
    pub value: String,
    /// Checkboxes and radios: whether it is checked.
    pub checked: bool,
}

/// A submit button (`<button>` or `<input type=submit>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub name: Option<String>,
    pub value: String,
    pub text: String,
}

/// A form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// As written (relative to the page, or empty: the page itself).
    pub action: String,
    /// `GET` or `POST`.
    pub method: String,
    pub inputs: Vec<Input>,
    pub buttons: Vec<Button>,
}

/// What a page asks of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// A login form.
    Login(Form),
    /// A form to submit as it is (consent, or a page that posts itself on).
    Submit(Form),
    /// `<meta http-equiv="refresh" content="0;url=…">`.
    Refresh(String),
    /// Nothing the recipe knows: the forms and fields found, for the message.
    Unknown(String),
}

fn selector(s: &str) -> Selector {
    Selector::parse(s).expect("a valid CSS selector")
}

fn attr(e: &ElementRef, name: &str) -> Option<String> {
    e.value().attr(name).map(str::to_string)
}

fn text_of(e: &ElementRef) -> String {
    e.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every form of a page.
pub fn forms(html: &str) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let form_sel = selector("form");
    let input_sel = selector("input, select, textarea");
    let button_sel = selector("button, input[type=submit], input[type=image]");
    let option_sel = selector("option");
    doc.select(&form_sel)
        .map(|f| {
            let mut inputs = Vec::new();
            for i in f.select(&input_sel) {
                let Some(name) = attr(&i, "name") else {
                    continue;
                };
                let tag = i.value().name();
                let kind = match tag {
                    "select" => "select".to_string(),
                    "textarea" => "textarea".to_string(),
                    _ => attr(&i, "type")
                        .unwrap_or_else(|| "text".into())
                        .to_ascii_lowercase(),
                };
                if matches!(kind.as_str(), "submit" | "image" | "button" | "reset") {
                    continue;
                }
                let value = match tag {
                    "select" => i
                        .select(&option_sel)
                        .find(|o| o.value().attr("selected").is_some())
                        .or_else(|| i.select(&option_sel).next())
                        .map(|o| attr(&o, "value").unwrap_or_else(|| text_of(&o)))
                        .unwrap_or_default(),
                    "textarea" => i.text().collect(),
                    _ => attr(&i, "value").unwrap_or_default(),
                };
                inputs.push(Input {
                    name,
                    checked: i.value().attr("checked").is_some(),
                    kind,
                    value,
                });
            }
            let buttons = f
                .select(&button_sel)
                .filter(|b| {
                    // `<button type="button">` submits nothing.
                    b.value().name() != "button"
                        || attr(b, "type").is_none_or(|t| t.eq_ignore_ascii_case("submit"))
                })
                .map(|b| Button {
                    name: attr(&b, "name"),
                    value: attr(&b, "value").unwrap_or_default(),
                    text: text_of(&b),
                })
                .collect();
            Form {
                action: attr(&f, "action").unwrap_or_default(),
                method: attr(&f, "method")
                    .unwrap_or_else(|| "get".into())
                    .to_ascii_uppercase(),
                inputs,
                buttons,
            }
        })
        .collect()
}

/// The URL of a `<meta http-equiv="refresh">`, if the page has one.
fn meta_refresh(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = selector("meta");
    doc.select(&sel).find_map(|m| {
        let equiv = m.value().attr("http-equiv")?;
        if !equiv.eq_ignore_ascii_case("refresh") {
            return None;
        }
        let content = m.value().attr("content")?;
        let (_, url) = content.split_once(';')?;
        let url = url.trim();
        let url = url
            .strip_prefix("url=")
            .or_else(|| url.strip_prefix("URL="))
            .unwrap_or(url);
        Some(url.trim_matches(['\'', '"']).to_string())
    })
}

/// What `html` asks of the client, by the recipe.
pub fn read(html: &str, hints: &FormHints) -> Page {
    let all = forms(html);
    let is_password = |i: &Input| {
        i.kind == "password" || hints.password_field.as_deref() == Some(i.name.as_str())
    };
    if let Some(f) = all.iter().find(|f| f.inputs.iter().any(is_password)) {
        return Page::Login(f.clone());
    }
    if let Some(url) = meta_refresh(html) {
        return Page::Refresh(url);
    }
    // A form to submit: one with an approving button first, else one that
    // has a submit button at all or only hidden fields (a page that posts
    // itself on).
    let approving = all.iter().find(|f| f.buttons.iter().any(approves));
    let plain = all
        .iter()
        .find(|f| !f.buttons.is_empty() || f.inputs.iter().all(|i| i.kind == "hidden"));
    if let Some(f) = approving.or(plain)
        && (f.buttons.is_empty() || !f.buttons.iter().all(declines))
    {
        return Page::Submit(f.clone());
    }
    Page::Unknown(describe(&all))
}

/// `2 forms: [action=/login, fields: user (text), pw (password)], …`
pub fn describe(all: &[Form]) -> String {
    if all.is_empty() {
        return "no form".into();
    }
    let forms: Vec<String> = all
        .iter()
        .map(|f| {
            let fields: Vec<String> = f
                .inputs
                .iter()
                .map(|i| format!("{} ({})", i.name, i.kind))
                .collect();
            let buttons: Vec<String> = f
                .buttons
                .iter()
                .map(|b| {
                    b.name
                        .clone()
                        .unwrap_or_else(|| b.text.clone())
                        .chars()
                        .take(40)
                        .collect()
                })
                .collect();
            format!(
                "[{} {}, fields: {}; buttons: {}]",
                f.method,
                if f.action.is_empty() {
                    "(this page)"
                } else {
                    f.action.split('?').next().unwrap_or("")
                },
                if fields.is_empty() {
                    "none".into()
                } else {
                    fields.join(", ")
                },
                if buttons.is_empty() {
                    "none".into()
                } else {
                    buttons.join(", ")
                }
            )
        })
        .collect();
    format!(
        "{} form{}: {}",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        forms.join(", ")
    )
}

const YES: [&str; 11] = [
    "approve",
    "allow",
    "accept",
    "yes",
    "consent",
    "authorize",
    "authorise",
    "grant",
    "continue",
    "confirm",
    "agree",
];
const NO: [&str; 7] = ["deny", "cancel", "reject", "decline", "no", "abort", "back"];

fn words(b: &Button) -> String {
    format!("{} {} {}", b.name.as_deref().unwrap_or(""), b.value, b.text).to_ascii_lowercase()
}

fn has_word(text: &str, list: &[&str]) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| list.contains(&w))
}

fn approves(b: &Button) -> bool {
    let w = words(b);
    has_word(&w, &YES) && !has_word(&w, &NO)
}

fn declines(b: &Button) -> bool {
    has_word(&words(b), &NO) && !approves(b)
}

/// The fields a submission of `f` carries: every input with its value
/// (checkboxes and radios only when checked), then `fill` set over them,
/// then the chosen button's name and value.
pub fn submission(
    f: &Form,
    fill: &[(String, String)],
    button: Option<&Button>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in &f.inputs {
        if matches!(i.kind.as_str(), "checkbox" | "radio") && !i.checked {
            continue;
        }
        if matches!(i.kind.as_str(), "file") {
            continue;
        }
        if fill.iter().any(|(k, _)| *k == i.name) {
            continue;
        }
        out.push((i.name.clone(), i.value.clone()));
    }
    out.extend(fill.iter().cloned());
    if let Some(b) = button
        && let Some(name) = &b.name
    {
        out.push((name.clone(), b.value.clone()));
    }
    out
}

/// The login form's username and password fields, by the hints or the
/// recipe: the first text or email field, the first password field.
pub fn credential_fields(f: &Form, hints: &FormHints) -> Option<(String, String)> {
    let password = match &hints.password_field {
        Some(p) => f.inputs.iter().find(|i| i.name == *p)?,
        None => f.inputs.iter().find(|i| i.kind == "password")?,
    };
    let username = match &hints.username_field {
        Some(u) => f.inputs.iter().find(|i| i.name == *u)?,
        None => f
            .inputs
            .iter()
            .find(|i| matches!(i.kind.as_str(), "text" | "email" | "tel"))?,
    };
    Some((username.name.clone(), password.name.clone()))
}

/// The button that submits the login form: the one the hints name (by
/// name, value or text), else the first.
pub fn login_button<'f>(f: &'f Form, hints: &FormHints) -> Option<&'f Button> {
    match &hints.submit {
        Some(want) => f.buttons.iter().find(|b| {
            b.name.as_deref() == Some(want.as_str())
                || b.value == *want
                || b.text.eq_ignore_ascii_case(want)
        }),
        None => f.buttons.first(),
    }
}

/// The button that accepts a consent form: an approving one, else the
/// first that does not decline.
pub fn consent_button(f: &Form) -> Option<&Button> {
    f.buttons
        .iter()
        .find(|b| approves(b))
        .or_else(|| f.buttons.iter().find(|b| !declines(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"<!doctype html><html><body>
      <form id="kc-form-login" action="/realms/x/login-actions/authenticate?session_code=abc&amp;tab_id=1" method="post">
        <input type="hidden" name="csrf" value="c-123">
        <label>Username or email <input id="username" name="username" type="text" autofocus></label>
        <input name="password" type="password">
        <input type="checkbox" name="rememberMe">
        <input type="submit" name="login" value="Sign In">
      </form></body></html>"#;

    #[test]
    fn a_login_form_is_found_and_filled() {
        let Page::Login(f) = read(LOGIN, &FormHints::default()) else {
            panic!("a login page");
        };
        assert_eq!(f.method, "POST");
        assert!(
            f.action
                .starts_with("/realms/x/login-actions/authenticate?session_code=abc&tab_id=1")
        );
        let (u, p) = credential_fields(&f, &FormHints::default()).unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("username", "password"));
        let fields = submission(
            &f,
            &[(u, "alice".into()), (p, "pw".into())],
            login_button(&f, &FormHints::default()),
        );
        assert_eq!(
            fields,
            vec![
                ("csrf".to_string(), "c-123".to_string()),
                ("username".into(), "alice".into()),
                ("password".into(), "pw".into()),
                ("login".into(), "Sign In".into()),
            ],
            "hidden kept, unchecked box left out, the button sent"
        );
    }

    #[test]
    fn hints_name_the_fields_a_page_does_not_type() {
        let html = r#"<form method=post action="/signin"><input name="j_username"><input name="j_secret" type="text"><button name="go" value="1">Go</button><button name="alt" value="2">Other</button></form>"#;
        let hints = FormHints {
            username_field: Some("j_username".into()),
            password_field: Some("j_secret".into()),
            submit: Some("alt".into()),
        };
        let Page::Login(f) = read(html, &hints) else {
            panic!("a login page by the hint");
        };
        assert_eq!(
            credential_fields(&f, &hints),
            Some(("j_username".into(), "j_secret".into()))
        );
        assert_eq!(login_button(&f, &hints).unwrap().value, "2");
    }

    #[test]
    fn consent_is_accepted_with_the_approving_button() {
        let html = r#"<form method="post" action="/consent"><input type="hidden" name="ticket" value="t1"><button name="decision" value="deny">Deny</button><button name="decision" value="allow">Allow access</button></form>"#;
        let Page::Submit(f) = read(html, &FormHints::default()) else {
            panic!("a consent page");
        };
        assert_eq!(consent_button(&f).unwrap().value, "allow");
        let self_posting = r#"<body onload="document.forms[0].submit()"><form method="post" action="https://idp/next"><input type="hidden" name="SAMLResponse" value="x"></form></body>"#;
        assert!(matches!(
            read(self_posting, &FormHints::default()),
            Page::Submit(_)
        ));
        let only_no =
            r#"<form method="post"><button name="b" value="cancel">Cancel</button></form>"#;
        assert!(matches!(
            read(only_no, &FormHints::default()),
            Page::Unknown(_)
        ));
    }

    #[test]
    fn a_page_the_recipe_does_not_know_is_described() {
        let html = r#"<html><body><p>Enter the code we texted you</p><form action="/mfa?x=1" method="post"><input name="otp"></form></body></html>"#;
        match read(html, &FormHints::default()) {
            Page::Unknown(found) => assert_eq!(
                found,
                "1 form: [POST /mfa, fields: otp (text); buttons: none]"
            ),
            other => panic!("{other:?}"),
        }
        let refresh = r#"<meta http-equiv="Refresh" content="0; URL='/next?a=1'">"#;
        assert_eq!(
            read(refresh, &FormHints::default()),
            Page::Refresh("/next?a=1".into())
        );
    }
}
