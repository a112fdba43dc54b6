//! The walk through the server's pages: each page classified (a login,
//! an identifier-first page, a consent, a self-posting form, a
//! `form_post` response, a refresh) and answered, or the walk stops on a
//! page it cannot read, naming it with a `login.pages` step to copy.

use super::*;

/// The front channel on its way: the pages walked so far and what the
/// walk must keep to (the allowed origins, the redirect URI).
pub(super) struct Walk<'a> {
    pub(super) flow: &'a CodeFlow,
    pub(super) req: &'a Authorize<'a>,
    pub(super) redactor: &'a Redactor,
    pub(super) allowed: Vec<String>,
    pub(super) hops: Vec<Hop>,
    /// Login forms and identifier pages answered so far: each comes once.
    pub(super) logins: usize,
    pub(super) identifiers: usize,
    /// `login.pages` steps already used.
    pub(super) used: Vec<bool>,
    pub(super) authenticated_at: Option<u64>,
}

/// What to do with a page.
pub(super) enum Next {
    Request(WireRequest),
    Response(Vec<(String, String)>),
}

impl Walk<'_> {
    /// The request that submits `f` on the page at `page` with `fill`
    /// (field, value, the kind it is secret as), by `button`; refused when
    /// it would carry a secret to an origin not declared.
    fn submit(
        &mut self,
        f: &form::Form,
        page: &Url,
        fill: Vec<(String, String, Option<&'static str>)>,
        button: Option<&form::Button>,
    ) -> Result<WireRequest, SubmitError> {
        let (action, method) = f.target(button);
        let action = page
            .join(&action)
            .map_err(|_| SubmitError::Action(action.clone()))?;
        let carries_secret = fill.iter().any(|(_, _, kind)| kind.is_some());
        let origin = action.origin().ascii_serialization();
        if carries_secret && !self.allowed.contains(&origin) {
            return Err(SubmitError::Undeclared(origin));
        }
        let pairs: Vec<(String, String)> = fill
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect();
        let fields = form::submission(f, &pairs, button);
        let mut next = submit(&method, action, &fields, page);
        for i in &f.inputs {
            if i.kind == "hidden" && !crate::secret::public_parameter(&i.name) {
                let kind = crate::secret::secret_kind(&i.name).unwrap_or("hf");
                next.sensitive.push(Sensitive::Field(kind, i.name.clone()));
            }
        }
        for (name, value, kind) in fill {
            if let Some(kind) = kind {
                next.sensitive.push(Sensitive::Field(kind, name));
                next.sensitive.push(Sensitive::Text(kind, value));
            }
        }
        Ok(next)
    }

    /// The first unused `login.pages` step that matches the page, and the
    /// form it is for.
    fn step_for<'f>(&self, url: &Url, forms: &'f [form::Form]) -> Option<(usize, &'f form::Form)> {
        self.flow
            .pages
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.used[*i])
            .find_map(|(i, s)| s.matches.form(url, forms, &s.fill).map(|f| (i, f)))
    }

    /// What `html`, the page at `url`, asks for: the next request, or the
    /// authorization response a `form_post` page carries; or why the
    /// recipe stops here (detail, what was found).
    pub(super) fn page(
        &mut self,
        url: &Url,
        html: &str,
        summary: &mut String,
    ) -> Result<Next, (String, String)> {
        let forms = form::forms(html);
        let one = |f: &form::Form| form::describe(std::slice::from_ref(f));
        // response_mode=form_post (OAuth 2.0 Form Post Response Mode §2):
        // a page whose form goes to the redirect URI carries the response.
        if let Some(f) = forms.iter().find(|f| {
            url.join(&f.action)
                .is_ok_and(|a| at_redirect_uri(&a, &self.flow.redirect_uri))
        }) {
            summary.push_str(" (form_post to the redirect_uri)");
            let response: Vec<(String, String)> = f
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.value.clone()))
                .collect();
            if let Some((_, code)) = response.iter().find(|(k, _)| k == "code") {
                self.redactor.add("cd", code);
            }
            return Ok(Next::Response(response));
        }
        if let Some((i, f)) = self.step_for(url, &forms) {
            self.used[i] = true;
            let step = &self.flow.pages[i];
            let fill = step
                .fill
                .iter()
                .map(|(name, v)| match v {
                    FillValue::Literal(s) => (name.clone(), s.clone(), None),
                    FillValue::Secret(s) => (name.clone(), s.expose().to_string(), Some("s")),
                    FillValue::Username => (name.clone(), self.req.username.to_string(), None),
                    FillValue::Password => {
                        (name.clone(), self.req.password.to_string(), Some("pw"))
                    }
                })
                .collect::<Vec<_>>();
            if fill.iter().any(|(_, _, k)| *k == Some("pw")) {
                self.authenticated_at = Some(crate::dpop::now_s());
            }
            let button = match &step.submit {
                Some(want) => Some(form::named_button(f, want).ok_or_else(|| {
                    (
                        format!("login.pages[{i}] submits with `{want}`, and the form has no such button"),
                        one(f),
                    )
                })?),
                None => form::login_button(f, &self.flow.form),
            };
            summary.push_str(&format!(" (login.pages[{i}])"));
            return self
                .submit(f, url, fill, button)
                .map(Next::Request)
                .map_err(|d| (d.to_string(), one(f)));
        }
        let hints = &self.flow.form;
        match form::read(html, hints) {
            form::Page::Refresh(to) => {
                summary.push_str(" (refresh)");
                let to_url = url.join(&to).map_err(|_| {
                    (
                        format!("a meta refresh to `{to}`, not a URL"),
                        "a refresh".into(),
                    )
                })?;
                Ok(Next::Request(page_request(
                    HttpMethod::Get,
                    to_url,
                    None,
                    None,
                )))
            }
            form::Page::Login(f) => {
                self.logins += 1;
                if self.logins > 1 {
                    summary.push_str(" (the login form again)");
                    return Err((
                        "the login form came back after the credentials were posted: the server refused them (check users.primary), or the form wants fields the recipe did not fill".into(),
                        one(&f),
                    ));
                }
                let Some(pass) = form::password_field(&f, hints) else {
                    return Err(("a login form without a password field".into(), one(&f)));
                };
                let mut fill = Vec::new();
                // A password page after an identifier page may have no
                // username field (or a hidden one, kept as it is).
                if let Some(user) = form::username_field(&f, hints) {
                    fill.push((user.name.clone(), self.req.username.to_string(), None));
                } else if self.identifiers == 0 && hints.username_field.is_some() {
                    return Err((
                        "a form with a password field but no field named by login.form.username_field".into(),
                        one(&f),
                    ));
                }
                fill.push((pass.name.clone(), self.req.password.to_string(), Some("pw")));
                summary.push_str(" (login form)");
                let button = form::login_button(&f, hints);
                let next = self
                    .submit(&f, url, fill, button)
                    .map_err(|d| (d.to_string(), one(&f)))?;
                self.authenticated_at = Some(crate::dpop::now_s());
                Ok(Next::Request(next))
            }
            form::Page::Identifier(f) => {
                self.identifiers += 1;
                if self.identifiers > 1 {
                    summary.push_str(" (the identifier page again)");
                    return Err((
                        "the page asking for the username came back after it was sent: the server refused the username (check users.primary)".into(),
                        one(&f),
                    ));
                }
                let Some(user) = form::username_field(&f, hints)
                    .or_else(|| f.inputs.iter().find(|i| i.fillable()))
                else {
                    return Err((
                        "an identifier page without a username field".into(),
                        one(&f),
                    ));
                };
                let fill = vec![(user.name.clone(), self.req.username.to_string(), None)];
                summary.push_str(" (identifier)");
                let button = form::login_button(&f, hints);
                // The username alone, to the declared origins only.
                let (action, _) = f.target(button);
                if let Ok(a) = url.join(&action)
                    && !self.allowed.contains(&a.origin().ascii_serialization())
                {
                    return Err((
                        format!(
                            "the identifier form posts to {}, which is not a declared origin (login.origins): nothing was sent",
                            a.origin().ascii_serialization()
                        ),
                        one(&f),
                    ));
                }
                self.submit(&f, url, fill, button)
                    .map(Next::Request)
                    .map_err(|d| (d.to_string(), one(&f)))
            }
            form::Page::Consent(f) => {
                summary.push_str(" (consent)");
                let button = form::consent_button(&f);
                self.submit(&f, url, Vec::new(), button)
                    .map(Next::Request)
                    .map_err(|d| (d.to_string(), one(&f)))
            }
            form::Page::AutoPost(f) => {
                summary.push_str(" (posts itself on)");
                self.submit(&f, url, Vec::new(), None)
                    .map(Next::Request)
                    .map_err(|d| (d.to_string(), one(&f)))
            }
            form::Page::Unknown(found) => Err((
                format!(
                    "a page that asks for what the recipe does not fill (a one-time code, a CAPTCHA, a search), or offers no way on; nothing was posted to it{}",
                    suggestion(url, &forms)
                        .map(|s| format!(". To fill it, add to the target's login: `pages: [{s}]`"))
                        .unwrap_or_default()
                ),
                found,
            )),
        }
    }
}

/// A `login.pages` step for the page at `url`, as a user would write it:
/// its path, its first form's fields to fill, its first button.
fn suggestion(url: &Url, forms: &[form::Form]) -> Option<String> {
    let f = forms
        .iter()
        .find(|f| f.inputs.iter().any(|i| i.fillable()))?;
    let fill: Vec<String> = f
        .inputs
        .iter()
        .filter(|i| i.fillable())
        .map(|i| {
            let var = i
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>();
            format!("{}: \"${{env:{var}}}\"", i.name)
        })
        .collect();
    let submit =
        f.buttons
            .first()
            .map(|b| {
                let label = b.name.as_deref().filter(|_| b.value.is_empty()).unwrap_or(
                    if b.value.is_empty() {
                        &b.text
                    } else {
                        &b.value
                    },
                );
                format!(", submit: \"{label}\"")
            })
            .unwrap_or_default();
    Some(format!(
        "{{ match: {{ path: \"{}\" }}, fill: {{ {} }}{submit} }}",
        url.path(),
        fill.join(", ")
    ))
}
