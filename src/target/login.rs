//! The `login:` block resolved: each grant's keys checked and the others'
//! refused, `login.pages` steps compiled, signing keys for client and user
//! assertions read.

use super::*;

impl Resolver<'_> {
    /// `login:`, resolved: each grant's keys checked, the others' refused
    /// (a key of another grant is a mistake that would be ignored).
    pub(super) fn login(
        &self,
        l: &LoginFile,
        base: Option<&Url>,
        _clients: &BTreeMap<String, Client>,
    ) -> Option<(Login, Option<Secret>)> {
        use crate::oauth::login::{assertion, code, command, form};
        let of_code = [
            ("authorization_endpoint", l.authorization_endpoint.is_some()),
            ("redirect_uri", l.redirect_uri.is_some()),
            ("params", !l.params.is_empty()),
            ("form", l.form.is_some()),
            ("origins", !l.origins.is_empty()),
            ("max_hops", l.max_hops.is_some()),
            ("pages", !l.pages.is_empty()),
        ];
        let of_jwt = [
            ("key_file", l.key_file.is_some()),
            ("alg", l.alg.is_some()),
            ("kid", l.kid.is_some()),
            ("iss", l.iss.is_some()),
            ("sub", l.sub.is_some()),
            ("aud", l.aud.is_some()),
            ("lifetime_s", l.lifetime_s.is_some()),
            ("tracks_jti", l.tracks_jti.is_some()),
        ];
        let of_command = [
            ("command", !l.command.is_empty()),
            ("timeout_s", l.timeout_s.is_some()),
        ];
        let misplaced = |keys: &[(&str, bool)], belongs: &str| {
            for (key, given) in keys {
                if *given {
                    self.note(self.source.error_at_text(
                        "login",
                        &format!("{key}:"),
                        format!(
                            "`login.{key}` goes with `grant: {belongs}`, and this login is `grant: {}`",
                            l.grant
                        ),
                    ));
                }
            }
        };
        match l.grant {
            LoginGrant::Password => {
                misplaced(&of_code, "authorization_code");
                misplaced(&of_jwt, "jwt_bearer");
                misplaced(&of_command, "command");
                Some((Login::Password, None))
            }
            LoginGrant::AuthorizationCode => {
                misplaced(&of_jwt, "jwt_bearer");
                misplaced(&of_command, "command");
                let Some(redirect) = &l.redirect_uri else {
                    self.note(self.source.error_at_path(
                        "login",
                        "`grant: authorization_code` needs `redirect_uri`: one registered for the client (it is never listened on)",
                    ));
                    return None;
                };
                let redirect_uri = self.keep(self.url(None, "login.redirect_uri", redirect))?;
                let authorization_endpoint = match &l.authorization_endpoint {
                    Some(a) => {
                        Some(self.keep(self.url(base, "login.authorization_endpoint", a))?)
                    }
                    None => None,
                };
                let mut origins = Vec::new();
                for (i, o) in l.origins.iter().enumerate() {
                    let u = self.keep(self.url(None, &format!("login.origins[{i}]"), o))?;
                    origins.push(u.origin().ascii_serialization());
                }
                if l.max_hops.is_some_and(|n| n == 0 || n > code::MAX_HOPS) {
                    self.note(self.source.error_at_text(
                        "login",
                        "max_hops:",
                        format!("`login.max_hops` is between 1 and {}", code::MAX_HOPS),
                    ));
                }
                let hints = l.form.clone().unwrap_or_default();
                let pages = self.login_pages(&l.pages)?;
                Some((
                    Login::AuthorizationCode(Box::new(code::CodeFlow {
                        authorization_endpoint,
                        redirect_uri,
                        scope: None,
                        params: l
                            .params
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        pkce: l.pkce,
                        form: form::FormHints {
                            username_field: hints.username_field,
                            password_field: hints.password_field,
                            submit: hints.submit,
                        },
                        origins,
                        max_hops: l.max_hops.unwrap_or(code::MAX_HOPS),
                        pages,
                    })),
                    None,
                ))
            }
            LoginGrant::JwtBearer => {
                misplaced(&of_code, "authorization_code");
                misplaced(&of_command, "command");
                let Some(key_file) = &l.key_file else {
                    self.note(self.source.error_at_path(
                        "login",
                        "`grant: jwt_bearer` needs `key_file`: the PEM private key that signs the user assertion",
                    ));
                    return None;
                };
                let k = self.keep(self.expand("login.key_file", key_file))?;
                let p = self.relative_path(&k);
                let pem = self.keep(std::fs::read_to_string(&p).map_err(|e| {
                    self.source.error_at_text(
                        "login",
                        "key_file:",
                        format!("cannot read login.key_file {}: {e}", p.display()),
                    )
                }))?;
                let pem = Secret::new(pem);
                let alg = self.keep(
                    auth::algorithm_for(AuthMethod::PrivateKeyJwt, l.alg.as_deref()).map_err(|e| {
                        self.source
                            .error_at_text("login", "alg:", format!("`login.alg`: {e}"))
                    }),
                )?;
                let key = self.keep(SigningKey::private(alg, &pem).map_err(|e| {
                    self.source.error_at_text(
                        "login",
                        "key_file:",
                        format!("`login.key_file`: {e}"),
                    )
                }))?;
                let iss = match &l.iss {
                    Some(i) => Some(self.keep(self.expand("login.iss", i))?),
                    None => None,
                };
                Some((
                    Login::JwtBearer(assertion::UserAssertion {
                        key,
                        kid: l.kid.clone(),
                        iss,
                        sub: match &l.sub {
                            Some(v) => Some(self.keep(self.expand("login.sub", v))?),
                            None => None,
                        },
                        aud: l.aud.clone(),
                        lifetime_s: l.lifetime_s.unwrap_or(300),
                        tracks_jti: l.tracks_jti.unwrap_or(false),
                    }),
                    Some(pem),
                ))
            }
            LoginGrant::Command => {
                misplaced(&of_code, "authorization_code");
                misplaced(&of_jwt, "jwt_bearer");
                if l.command.is_empty() {
                    self.note(self.source.error_at_path(
                        "login",
                        "`grant: command` needs `command`: the program (and its arguments) that prints a token response",
                    ));
                    return None;
                }
                let mut argv = Vec::new();
                for (i, a) in l.command.iter().enumerate() {
                    argv.push(self.keep(self.expand(&format!("login.command[{i}]"), a))?);
                }
                // A program given as a path is relative to the target file.
                if argv[0].contains('/') && !Path::new(&argv[0]).is_absolute() {
                    argv[0] = self.relative_path(&argv[0]).display().to_string();
                }
                Some((
                    Login::Command(command::CommandLogin {
                        argv,
                        timeout: Duration::from_secs(l.timeout_s.unwrap_or(120).clamp(1, 3600)),
                    }),
                    None,
                ))
            }
        }
    }

    /// `login.pages`, resolved: one way to match each page, the values to
    /// fill (a `${env:…}` or `${file:…}` one a secret).
    fn login_pages(
        &self,
        pages: &[LoginPageFile],
    ) -> Option<Vec<crate::oauth::login::code::PageStep>> {
        use crate::oauth::login::code::{FillValue, PageMatch, PageStep};
        let mut out = Vec::new();
        let mut ok = true;
        for (i, p) in pages.iter().enumerate() {
            let key = format!("login.pages[{i}]");
            let m = &p.matches;
            let given = [m.path.is_some(), m.url.is_some(), m.form.is_some()]
                .iter()
                .filter(|g| **g)
                .count();
            if given != 1 {
                self.note(self.source.error_at_text(
                    "login",
                    "match:",
                    format!("`{key}.match` takes exactly one of `path`, `url` (a regular expression) or `form` (a form's id or action)"),
                ));
                ok = false;
                continue;
            }
            let matches = if let Some(path) = &m.path {
                PageMatch::Path(path.clone())
            } else if let Some(re) = &m.url {
                match regex::Regex::new(re) {
                    Ok(r) => PageMatch::Url(r),
                    Err(e) => {
                        self.note(self.source.error_at_text(
                            "login",
                            re,
                            format!("`{key}.match.url` is not a regular expression: {e}"),
                        ));
                        ok = false;
                        continue;
                    }
                }
            } else {
                PageMatch::Form(m.form.clone().unwrap_or_default())
            };
            let mut fill = Vec::new();
            for (field, raw) in &p.fill {
                let value = match raw.trim() {
                    "${username}" => FillValue::Username,
                    "${password}" => FillValue::Password,
                    _ => match self.keep(self.expand(&format!("{key}.fill.{field}"), raw)) {
                        Some(v) if raw.contains("${") => FillValue::Secret(Secret::new(v)),
                        Some(v) => FillValue::Literal(v),
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                };
                fill.push((field.clone(), value));
            }
            out.push(PageStep {
                matches,
                fill,
                submit: p.submit.clone(),
            });
        }
        ok.then_some(out)
    }

    /// The key that signs a JWT-authenticating client's assertions, checked
    /// now: `alg` fits the method, the key file holds a key that signs with it.
    pub(super) fn signing(
        &self,
        path: &str,
        name: &str,
        c: &ClientFile,
        key_pem: Option<&Secret>,
    ) -> Result<Option<SigningKey>, Diagnostic> {
        let jwt = matches!(
            c.auth,
            AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt
        );
        if !jwt {
            if c.alg.is_some() && key_pem.is_none() {
                return Err(self.source.error_at_text(
                    path,
                    "alg:",
                    format!(
                        "client `{name}` authenticates with {}, which signs nothing: `alg` is for client_secret_jwt and private_key_jwt",
                        c.auth.as_str()
                    ),
                ));
            }
            // A key given to a client of another method still has to be a
            // key: scenarios may ask that client for private_key_jwt.
            return match key_pem {
                Some(pem) => {
                    let alg = auth::algorithm_for(AuthMethod::PrivateKeyJwt, c.alg.as_deref())
                        .map_err(|e| self.key_error(path, "alg", name, e))?;
                    SigningKey::private(alg, pem)
                        .map(Some)
                        .map_err(|e| self.key_error(path, "key_file", name, e))
                }
                None => Ok(None),
            };
        }
        let alg = auth::algorithm_for(c.auth, c.alg.as_deref())
            .map_err(|e| self.key_error(path, "alg", name, e))?;
        match c.auth {
            AuthMethod::ClientSecretJwt => Ok(Some(SigningKey::Hmac(alg))),
            _ => {
                let pem = key_pem.ok_or_else(|| {
                    self.source.error_at_path(
                        path,
                        format!(
                            "client `{name}` authenticates with private_key_jwt and needs a `key_file`"
                        ),
                    )
                })?;
                SigningKey::private(alg, pem)
                    .map(Some)
                    .map_err(|e| self.key_error(path, "key_file", name, e))
            }
        }
    }

    fn key_error(&self, path: &str, key: &str, _name: &str, e: auth::KeyError) -> Diagnostic {
        // Block or flow style: the key's first mention from the client's line on.
        self.source
            .error_at_text(path, &format!("{key}:"), format!("`{path}.{key}`: {e}"))
    }
}
