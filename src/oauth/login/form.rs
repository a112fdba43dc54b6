//! Reading the pages of a login: the forms an HTML page holds (with an HTML
//! parser, never regexes), what each page asks of the client, and the
//! fields a submission carries.
//!
//! The recipe, as keycloak-benchmark's scripted logins and a person at a
//! browser do it, and no further:
//! - a form with a password field signs in: the username goes in the first
//!   text or email field when there is one (or the one the target names),
//!   the password in the password field, hidden fields are kept, the
//!   submit button's name and value go along;
//! - a form whose one field to fill is a username (by its type, its
//!   `autocomplete` or its name) is the first page of an identifier-first
//!   login: the username alone, the password on the next page;
//! - a form with nothing to fill and a button that approves asks for
//!   consent: submitted with that button;
//! - a form with hidden fields only and no button posts itself on (a
//!   SAML or `form_post` hop);
//! - a `<meta http-equiv="refresh">` is a redirect;
//! - anything else (a one-time code, a search box, a CAPTCHA, a form whose
//!   only buttons decline) is **unknown**: never submitted. The login stops
//!   there, naming the fields and buttons, and `login.pages` can say what
//!   to do with it.
//!
//! Disabled fields and buttons are left out, as a browser leaves them;
//! fields outside a `<form>` that name it with `form=` belong to it; a
//! button's `formaction` and `formmethod` win over the form's.

use scraper::{ElementRef, Html, Selector};

/// What the target may say about its forms (`login.form`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormHints {
    pub username_field: Option<String>,
    pub password_field: Option<String>,
    /// The name, value or text of the button that submits the login form.
    pub submit: Option<String>,
}

/// One input of a form, as the page has it. Its `Debug` leaves the value
/// out: a hidden field may hold a session key.
#[derive(Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    /// Lowercased; `text` when the page gives none.
    pub kind: String,
    pub value: String,
    /// Checkboxes and radios: whether it is checked.
    pub checked: bool,
    pub disabled: bool,
    /// The `id` attribute.
    pub id: Option<String>,
    /// `autocomplete`, lowercased (`username`, `one-time-code`, …).
    pub autocomplete: String,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("checked", &self.checked)
            .field("disabled", &self.disabled)
            .finish()
    }
}

impl Input {
    /// A field a person types into (not hidden, not a box to tick).
    pub fn fillable(&self) -> bool {
        !self.disabled
            && matches!(
                self.kind.as_str(),
                "text" | "email" | "tel" | "number" | "search" | "url" | "password" | "textarea"
            )
    }

    /// Whether the field asks for a username, by its type, `autocomplete`
    /// or name; never a one-time code or a search box.
    fn asks_for_username(&self) -> bool {
        let names = format!(
            "{} {}",
            self.name.to_ascii_lowercase(),
            self.id.as_deref().unwrap_or("").to_ascii_lowercase()
        );
        let words: Vec<&str> = names
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let not_a_code = [
            "otp",
            "code",
            "totp",
            "pin",
            "mfa",
            "token",
            "passcode",
            "captcha",
            "search",
            "q",
            "query",
            "verification",
        ];
        if words.iter().any(|w| not_a_code.contains(w)) || self.autocomplete.contains("one-time") {
            return false;
        }
        if self.kind == "email"
            || self.autocomplete.contains("username")
            || self.autocomplete.contains("email")
        {
            return true;
        }
        let hints = [
            "user",
            "username",
            "userid",
            "login",
            "email",
            "mail",
            "identifier",
            "account",
            "principal",
            "upn",
            "uid",
            "loginfmt",
        ];
        words.iter().any(|w| {
            hints.contains(w)
                || w.ends_with("username")
                || w.starts_with("username")
                || w.starts_with("user")
                || w.ends_with("userid")
        })
    }
}

/// A submit button (`<button>` or `<input type=submit>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub name: Option<String>,
    pub value: String,
    pub text: String,
    /// `formaction` and `formmethod`: where this button sends the form.
    pub formaction: Option<String>,
    pub formmethod: Option<String>,
}

/// A form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `id` attribute.
    pub id: Option<String>,
    /// As written (relative to the page, or empty: the page itself).
    pub action: String,
    /// `GET` or `POST`.
    pub method: String,
    pub inputs: Vec<Input>,
    /// Enabled buttons only.
    pub buttons: Vec<Button>,
}

impl Form {
    fn fillable(&self) -> impl Iterator<Item = &Input> {
        self.inputs.iter().filter(|i| i.fillable())
    }

    /// Where `button` sends the form, and how.
    pub fn target(&self, button: Option<&Button>) -> (String, String) {
        let action = button
            .and_then(|b| b.formaction.clone())
            .unwrap_or_else(|| self.action.clone());
        let method = button
            .and_then(|b| b.formmethod.clone())
            .unwrap_or_else(|| self.method.clone())
            .to_ascii_uppercase();
        (action, method)
    }
}

/// What a page asks of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// A login form: a password field (and a username field, unless the
    /// username was asked for on an earlier page).
    Login(Form),
    /// The first page of an identifier-first login: the username alone.
    Identifier(Form),
    /// A consent form: nothing to fill, a button that approves.
    Consent(Form),
    /// Hidden fields only, no button: a page that posts itself on.
    AutoPost(Form),
    /// `<meta http-equiv="refresh" content="0;url=…">`.
    Refresh(String),
    /// Nothing the recipe knows: the forms, fields and buttons found.
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

/// The input `i` as a form field, or `None` for buttons and nameless ones.
fn input_of(i: &ElementRef) -> Option<Input> {
    let name = attr(i, "name")?;
    let tag = i.value().name();
    let kind = match tag {
        "select" => "select".to_string(),
        "textarea" => "textarea".to_string(),
        _ => attr(i, "type")
            .unwrap_or_else(|| "text".into())
            .to_ascii_lowercase(),
    };
    if matches!(kind.as_str(), "submit" | "image" | "button" | "reset") {
        return None;
    }
    let option_sel = selector("option");
    let value = match tag {
        "select" => i
            .select(&option_sel)
            .find(|o| o.value().attr("selected").is_some())
            .or_else(|| i.select(&option_sel).next())
            .map(|o| attr(&o, "value").unwrap_or_else(|| text_of(&o)))
            .unwrap_or_default(),
        "textarea" => i.text().collect(),
        _ => attr(i, "value").unwrap_or_default(),
    };
    Some(Input {
        name,
        checked: i.value().attr("checked").is_some(),
        disabled: i.value().attr("disabled").is_some(),
        id: attr(i, "id"),
        autocomplete: attr(i, "autocomplete")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        kind,
        value,
    })
}

/// The button `b`, when it submits (not `type=button`) and is enabled.
fn button_of(b: &ElementRef) -> Option<Button> {
    if b.value().attr("disabled").is_some() {
        return None;
    }
    // `<button type="button">` submits nothing.
    if b.value().name() == "button"
        && !attr(b, "type").is_none_or(|t| t.eq_ignore_ascii_case("submit"))
    {
        return None;
    }
    Some(Button {
        name: attr(b, "name"),
        value: attr(b, "value").unwrap_or_default(),
        text: text_of(b),
        formaction: attr(b, "formaction"),
        formmethod: attr(b, "formmethod"),
    })
}

/// Every form of a page, with the fields and buttons that belong to it:
/// those inside it (unless they name another form with `form=`), and
/// those elsewhere that name it.
pub fn forms(html: &str) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let form_sel = selector("form");
    let field_sel = selector("input, select, textarea, button");
    let is_button = |e: &ElementRef| {
        let tag = e.value().name();
        tag == "button"
            || (tag == "input"
                && attr(e, "type")
                    .is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "submit" | "image")))
    };
    let all_forms: Vec<ElementRef> = doc.select(&form_sel).collect();
    // The form each field belongs to: its `form=` owner, else the nearest
    // enclosing form.
    let owner = |e: &ElementRef| -> Option<usize> {
        if let Some(id) = e.value().attr("form") {
            return all_forms
                .iter()
                .position(|f| f.value().attr("id") == Some(id));
        }
        e.ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "form")
            .and_then(|f| all_forms.iter().position(|x| x.id() == f.id()))
    };
    let mut out: Vec<Form> = all_forms
        .iter()
        .map(|f| Form {
            id: attr(f, "id"),
            action: attr(f, "action").unwrap_or_default(),
            method: attr(f, "method")
                .unwrap_or_else(|| "get".into())
                .to_ascii_uppercase(),
            inputs: Vec::new(),
            buttons: Vec::new(),
        })
        .collect();
    for e in doc.select(&field_sel) {
        let Some(i) = owner(&e) else { continue };
        if is_button(&e) {
            out[i].buttons.extend(button_of(&e));
        } else {
            out[i].inputs.extend(input_of(&e));
        }
    }
    out
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
    if let Some(f) = all.iter().find(|f| password_field(f, hints).is_some()) {
        return Page::Login(f.clone());
    }
    if let Some(url) = meta_refresh(html) {
        return Page::Refresh(url);
    }
    if let Some(f) = all.iter().find(|f| {
        let mut fill = f.fillable();
        match (fill.next(), fill.next()) {
            (Some(only), None) => {
                hints.username_field.as_deref() == Some(only.name.as_str())
                    || only.asks_for_username()
            }
            _ => false,
        }
    }) {
        return Page::Identifier(f.clone());
    }
    if let Some(f) = all
        .iter()
        .find(|f| f.fillable().next().is_none() && f.buttons.iter().any(approves))
    {
        return Page::Consent(f.clone());
    }
    if let Some(f) = all.iter().find(|f| {
        f.buttons.is_empty() && !f.inputs.is_empty() && f.inputs.iter().all(|i| i.kind == "hidden")
    }) {
        return Page::AutoPost(f.clone());
    }
    Page::Unknown(describe(&all))
}

/// The login form's password field: the one the hints name, else the
/// first enabled password input.
pub fn password_field<'f>(f: &'f Form, hints: &FormHints) -> Option<&'f Input> {
    match &hints.password_field {
        Some(p) => f.inputs.iter().find(|i| i.name == *p && !i.disabled),
        None => f
            .inputs
            .iter()
            .find(|i| i.kind == "password" && !i.disabled),
    }
}

/// The login form's username field, if it has one: the one the hints
/// name, else the first enabled text or email field.
pub fn username_field<'f>(f: &'f Form, hints: &FormHints) -> Option<&'f Input> {
    match &hints.username_field {
        Some(u) => f.inputs.iter().find(|i| i.name == *u && !i.disabled),
        None => f
            .inputs
            .iter()
            .find(|i| !i.disabled && matches!(i.kind.as_str(), "text" | "email" | "tel")),
    }
}

/// `2 forms: [POST /login, fields: user (text), pw (password); buttons: go], …`
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
                .map(|i| {
                    format!(
                        "{} ({}{})",
                        i.name,
                        i.kind,
                        if i.disabled { ", disabled" } else { "" }
                    )
                })
                .collect();
            let buttons: Vec<String> = f
                .buttons
                .iter()
                .map(|b| {
                    let label = if b.text.is_empty() { &b.value } else { &b.text };
                    let shown = match &b.name {
                        Some(n) if !label.is_empty() => format!("{n} \"{label}\""),
                        Some(n) => n.clone(),
                        None => format!("\"{label}\""),
                    };
                    shown.chars().take(60).collect()
                })
                .collect();
            format!(
                "[{} {}{}, fields: {}; buttons: {}]",
                f.method,
                if f.action.is_empty() {
                    "(this page)"
                } else {
                    f.action.split('?').next().unwrap_or("")
                },
                f.id.as_deref()
                    .map(|id| format!(" #{id}"))
                    .unwrap_or_default(),
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

const YES: [&str; 12] = [
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
    "ok",
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

/// The fields a submission of `f` carries: every enabled input with its
/// value (checkboxes and radios only when checked), then `fill` set over
/// them, then the chosen button's name and value.
pub fn submission(
    f: &Form,
    fill: &[(String, String)],
    button: Option<&Button>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in &f.inputs {
        if i.disabled {
            continue;
        }
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

/// The button named `want` (by name, value or text), if the form has it.
pub fn named_button<'f>(f: &'f Form, want: &str) -> Option<&'f Button> {
    f.buttons.iter().find(|b| {
        b.name.as_deref() == Some(want) || b.value == want || b.text.eq_ignore_ascii_case(want)
    })
}

/// The button that submits a login (or identifier) form: the one the
/// hints name, else the first that does not decline.
pub fn login_button<'f>(f: &'f Form, hints: &FormHints) -> Option<&'f Button> {
    match &hints.submit {
        Some(want) => named_button(f, want),
        None => f
            .buttons
            .iter()
            .find(|b| !declines(b))
            .or(f.buttons.first()),
    }
}

/// The button that accepts a consent form: an approving one.
pub fn consent_button(f: &Form) -> Option<&Button> {
    f.buttons.iter().find(|b| approves(b))
}

/// `html` with the values of its password fields and of its hidden fields
/// (but those named after a public protocol parameter) replaced by their
/// fingerprints, at any length: what a report may keep of a login page.
pub fn redact_inputs(html: &str) -> String {
    let mut doc = Html::parse_document(html);
    let sel = selector("input");
    let ids: Vec<_> = doc.select(&sel).map(|e| e.id()).collect();
    let mut changed = false;
    for id in ids {
        let Some(mut node) = doc.tree.get_mut(id) else {
            continue;
        };
        let scraper::Node::Element(e) = node.value() else {
            continue;
        };
        let kind = e.attr("type").unwrap_or("text").to_ascii_lowercase();
        let name = e.attr("name").unwrap_or("").to_string();
        let secret = match kind.as_str() {
            "password" => Some(crate::secret::secret_kind(&name).unwrap_or("pw")),
            "hidden" if !crate::secret::public_parameter(&name) => {
                Some(crate::secret::secret_kind(&name).unwrap_or("hf"))
            }
            _ => None,
        };
        let Some(prefix) = secret else { continue };
        for (attr_name, value) in e.attrs.iter_mut() {
            if &*attr_name.local == "value" && !value.is_empty() {
                let fp = crate::secret::fingerprint(prefix, value);
                *value = fp.as_str().into();
                changed = true;
            }
        }
    }
    if changed {
        doc.html()
    } else {
        html.to_string()
    }
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
        <input type="text" name="legacy" value="x" disabled>
        <input type="submit" name="login" value="Sign In">
      </form></body></html>"#;

    fn hints() -> FormHints {
        FormHints::default()
    }

    #[test]
    fn a_login_form_is_found_and_filled() {
        let Page::Login(f) = read(LOGIN, &hints()) else {
            panic!("a login page");
        };
        assert_eq!(f.method, "POST");
        assert_eq!(f.id.as_deref(), Some("kc-form-login"));
        assert!(
            f.action
                .starts_with("/realms/x/login-actions/authenticate?session_code=abc&tab_id=1")
        );
        let u = username_field(&f, &hints()).unwrap().name.clone();
        let p = password_field(&f, &hints()).unwrap().name.clone();
        assert_eq!((u.as_str(), p.as_str()), ("username", "password"));
        let fields = submission(
            &f,
            &[(u, "alice".into()), (p, "pw".into())],
            login_button(&f, &hints()),
        );
        assert_eq!(
            fields,
            vec![
                ("csrf".to_string(), "c-123".to_string()),
                ("username".into(), "alice".into()),
                ("password".into(), "pw".into()),
                ("login".into(), "Sign In".into()),
            ],
            "hidden kept, unchecked box and disabled field left out, the button sent"
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
        assert_eq!(username_field(&f, &hints).unwrap().name, "j_username");
        assert_eq!(password_field(&f, &hints).unwrap().name, "j_secret");
        assert_eq!(login_button(&f, &hints).unwrap().value, "2");
    }

    #[test]
    fn consent_is_accepted_with_the_approving_button() {
        let html = r#"<form method="post" action="/consent"><input type="hidden" name="ticket" value="t1"><button name="decision" value="deny">Deny</button><button name="decision" value="allow">Allow access</button></form>"#;
        let Page::Consent(f) = read(html, &hints()) else {
            panic!("a consent page");
        };
        assert_eq!(consent_button(&f).unwrap().value, "allow");
        let self_posting = r#"<body onload="document.forms[0].submit()"><form method="post" action="https://idp/next"><input type="hidden" name="SAMLResponse" value="x"></form></body>"#;
        assert!(matches!(read(self_posting, &hints()), Page::AutoPost(_)));
        let only_no =
            r#"<form method="post"><button name="b" value="cancel">Cancel</button></form>"#;
        assert!(matches!(read(only_no, &hints()), Page::Unknown(_)));
    }

    #[test]
    fn pages_that_ask_for_what_the_recipe_cannot_give_are_unknown() {
        // A one-time code with a button that says "Continue": not consent.
        let mfa = r#"<html><body><p>Enter the code we texted you</p><form action="/mfa?x=1" method="post"><input type="hidden" name="csrf" value="c"><input name="otp" autocomplete="one-time-code" inputmode="numeric"><button type="submit">Continue</button></form></body></html>"#;
        match read(mfa, &hints()) {
            Page::Unknown(found) => assert_eq!(
                found,
                "1 form: [POST /mfa, fields: csrf (hidden), otp (text); buttons: \"Continue\"]"
            ),
            other => panic!("{other:?}"),
        }
        // A code field named plainly is no username either.
        let code =
            r#"<form method="post"><input name="code" type="text"><button>Verify</button></form>"#;
        assert!(matches!(read(code, &hints()), Page::Unknown(_)));
        // A search box with a button.
        let search =
            r#"<form action="/search"><input type="search" name="q"><button>Go</button></form>"#;
        assert!(matches!(read(search, &hints()), Page::Unknown(_)));
        let refresh = r#"<meta http-equiv="Refresh" content="0; URL='/next?a=1'">"#;
        assert_eq!(read(refresh, &hints()), Page::Refresh("/next?a=1".into()));
    }

    #[test]
    fn identifier_first_pages_ask_for_the_username_alone() {
        let html = r#"<form method="post" action="/identify"><input type="hidden" name="flow" value="f1"><input type="text" name="loginfmt" autocomplete="username"><button name="next" value="1">Next</button></form>"#;
        let Page::Identifier(f) = read(html, &hints()) else {
            panic!("an identifier page");
        };
        assert_eq!(username_field(&f, &hints()).unwrap().name, "loginfmt");
        // The password page that follows has no username field.
        let pw = r#"<form method="post" action="/password"><input type="hidden" name="flow" value="f1"><input type="password" name="pwd"><button>Sign in</button></form>"#;
        let Page::Login(f) = read(pw, &hints()) else {
            panic!("a password page");
        };
        assert!(username_field(&f, &hints()).is_none());
        assert_eq!(password_field(&f, &hints()).unwrap().name, "pwd");
    }

    #[test]
    fn an_unrelated_form_beside_the_login_is_left_alone() {
        let html = r#"<form action="/search"><input name="q"><button>Search</button></form>
            <form id="lang" action="/lang" method="post"><select name="l"><option value="en">English</option></select><button>Change</button></form>
            <form id="login" action="/login" method="post"><input name="user"><input type="password" name="pass"><button>Sign in</button></form>"#;
        let Page::Login(f) = read(html, &hints()) else {
            panic!("the login form");
        };
        assert_eq!(f.id.as_deref(), Some("login"));
    }

    #[test]
    fn fields_and_buttons_outside_their_form_belong_to_it() {
        let html = r#"<form id="f" action="/a" method="post"><input type="hidden" name="h" value="1"></form>
            <input form="f" name="user" type="email"><input form="f" name="pw" type="password">
            <button form="f" formaction="/b" formmethod="post" name="go" value="y">Sign in</button>
            <button form="f" disabled name="off">Off</button>"#;
        let Page::Login(f) = read(html, &hints()) else {
            panic!("a login page");
        };
        assert_eq!(f.inputs.len(), 3);
        assert_eq!(f.buttons.len(), 1, "the disabled button is not one");
        let b = login_button(&f, &hints());
        assert_eq!(f.target(b), ("/b".to_string(), "POST".to_string()));
    }

    #[test]
    fn input_debug_leaves_the_value_out() {
        let Page::Login(f) = read(LOGIN, &hints()) else {
            panic!()
        };
        let shown = format!("{f:?}");
        assert!(!shown.contains("c-123"), "{shown}");
    }

    #[test]
    fn hidden_and_password_values_are_fingerprinted_at_any_length() {
        let html = r#"<form><input type="hidden" name="k" value="ab"><input type="hidden" name="scope" value="openid"><input type="password" name="p" value="xy"><input name="user" value="alice"></form>"#;
        let out = redact_inputs(html);
        assert!(!out.contains("\"ab\"") && !out.contains("\"xy\""), "{out}");
        assert!(
            out.contains(&crate::secret::fingerprint("hf", "ab")),
            "{out}"
        );
        assert!(
            out.contains("\"openid\"") && out.contains("\"alice\""),
            "{out}"
        );
    }
}
