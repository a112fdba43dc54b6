//! Turning a scenario step into the exact request to send: parameters,
//! client authentication, encoding, and a redacted record of it.

use super::context::{Context, Rendered};
use crate::check::result::RequestRecord;
use crate::oauth::auth;
use crate::redact::Redactor;
use crate::scenario::compile::{GrantRequest, TokenOp};
use crate::scenario::model::{AssertionDefect, AuthOverride, Encoding, HttpMethod};
use crate::secret::{Secret, secret_kind};
use crate::target::{AuthMethod, Client, Target, UserCredentials};
use crate::wire;
use url::Url;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub method: HttpMethod,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

impl WireRequest {
    pub fn to_reqwest(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let method = match self.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Head => reqwest::Method::HEAD,
        };
        let mut b = client.request(method, self.url.clone());
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        if let Some((ctype, body)) = &self.body {
            b = b.header("content-type", ctype).body(body.clone());
        }
        b
    }

    /// The request as a report may show it: every secret a fingerprint.
    pub fn record(&self, redactor: &Redactor) -> RequestRecord {
        let headers = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("authorization") {
                    match v.split_once(' ') {
                        Some((scheme, cred)) => {
                            format!("{scheme} {}", crate::secret::fingerprint("cred", cred))
                        }
                        None => crate::secret::fingerprint("cred", v),
                    }
                } else {
                    redactor.redact(v)
                };
                (k.clone(), v)
            })
            .collect();
        let body = self.body.as_ref().map(|(ctype, b)| {
            let text = String::from_utf8_lossy(b);
            let shown = if ctype.starts_with("application/x-www-form-urlencoded") {
                redact_form(&text)
            } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(b) {
                return redactor.redact_json(&v);
            } else {
                text.chars().take(2048).collect()
            };
            redactor.redact(&shown)
        });
        let mut url = self.url.clone();
        if url.query().is_some() {
            let q = redact_form(url.query().unwrap_or_default());
            url.set_query(Some(&q));
        }
        RequestRecord {
            method: format!("{:?}", self.method).to_uppercase(),
            url: redactor.redact(url.as_str()),
            headers,
            body,
        }
    }
}

/// A form string with secret-bearing parameters replaced by fingerprints.
fn redact_form(text: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        match secret_kind(&k) {
            Some(kind) => out.append_pair(&k, &crate::secret::fingerprint(kind, &v)),
            None => out.append_pair(&k, &v),
        };
    }
    out.finish()
}

type Params = Vec<(String, String)>;

fn render(
    ctx: &Context,
    t: &crate::scenario::template::Template,
    redactor: &Redactor,
) -> Result<Rendered, String> {
    let r = ctx.render(t)?;
    if r.secret {
        redactor.add("tk", &r.text);
    }
    Ok(r)
}

/// Adds client authentication to a request.
#[allow(clippy::too_many_arguments)]
fn authenticate(
    method: AuthOverride,
    defect: Option<AssertionDefect>,
    client: &Client,
    client_id: &str,
    secret: Option<&Secret>,
    audience: &str,
    params: &mut Params,
    headers: &mut Params,
    query: &mut Params,
    redactor: &Redactor,
) -> Result<(), String> {
    let secret_text = secret.map(|s| s.expose().to_string()).unwrap_or_default();
    let jwt = matches!(
        method,
        AuthOverride::ClientSecretJwt | AuthOverride::PrivateKeyJwt
    );
    if defect.is_some() && !jwt {
        return Err(format!(
            "`assertion` needs JWT client authentication, but the client uses {}",
            client.auth.as_str()
        ));
    }
    match method {
        AuthOverride::ClientSecretBasic => headers.push((
            "Authorization".into(),
            auth::client_basic(client_id, &secret_text),
        )),
        AuthOverride::ClientSecretPost => {
            params.push(("client_id".into(), client_id.into()));
            params.push(("client_secret".into(), secret_text));
        }
        AuthOverride::BasicAndPost => {
            headers.push((
                "Authorization".into(),
                auth::client_basic(client_id, &secret_text),
            ));
            params.push(("client_id".into(), client_id.into()));
            params.push(("client_secret".into(), secret_text));
        }
        AuthOverride::Query => {
            query.push(("client_id".into(), client_id.into()));
            query.push(("client_secret".into(), secret_text));
        }
        AuthOverride::None => params.push(("client_id".into(), client_id.into())),
        AuthOverride::NoCredentials => {}
        AuthOverride::ClientSecretJwt | AuthOverride::PrivateKeyJwt => {
            let alg = client.alg.clone().unwrap_or_else(|| {
                if method == AuthOverride::ClientSecretJwt {
                    "HS256".into()
                } else {
                    "RS256".into()
                }
            });
            let tweak = auth::AssertionTweak {
                wrong_issuer: defect == Some(AssertionDefect::WrongIssuer),
                wrong_subject: defect == Some(AssertionDefect::WrongSubject),
                wrong_audience: defect == Some(AssertionDefect::WrongAudience),
                expired_by_s: if defect == Some(AssertionDefect::Expired) {
                    600
                } else {
                    0
                },
                bad_signature: defect == Some(AssertionDefect::BadSignature),
            };
            let assertion = auth::client_assertion(
                client_id,
                audience,
                &alg,
                secret,
                client.key_pem.as_ref(),
                client.kid.as_deref(),
                tweak,
            )?;
            redactor.add("ca", assertion.expose());
            params.push(("client_id".into(), client_id.into()));
            let assertion_type = if defect == Some(AssertionDefect::WrongType) {
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
            } else {
                wire::CLIENT_ASSERTION_TYPE_JWT
            };
            params.push(("client_assertion_type".into(), assertion_type.into()));
            params.push(("client_assertion".into(), assertion.expose().to_string()));
        }
    }
    Ok(())
}

fn default_auth(m: AuthMethod) -> AuthOverride {
    match m {
        AuthMethod::ClientSecretBasic => AuthOverride::ClientSecretBasic,
        AuthMethod::ClientSecretPost => AuthOverride::ClientSecretPost,
        AuthMethod::ClientSecretJwt => AuthOverride::ClientSecretJwt,
        AuthMethod::PrivateKeyJwt => AuthOverride::PrivateKeyJwt,
        AuthMethod::None => AuthOverride::None,
    }
}

/// A plain GET of a published document.
pub fn get_request(url: Url) -> WireRequest {
    WireRequest {
        method: HttpMethod::Get,
        url,
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
    }
}

/// Builds a token request from a `grant` step.
pub fn grant_request(
    g: &GrantRequest,
    ctx: &Context,
    redactor: &Redactor,
) -> Result<WireRequest, String> {
    let target: &Target = ctx.target;
    let endpoint = target
        .token_endpoint
        .clone()
        .ok_or("the target has no token endpoint")?;
    let client = target
        .client(&g.client)
        .ok_or_else(|| format!("the target has no client `{}`", g.client))?;
    let mut params: Params = vec![("grant_type".into(), g.grant_type.clone())];
    let mut headers: Params = Vec::new();
    let mut query: Params = Vec::new();

    let client_id = match &g.client_id {
        Some(t) => render(ctx, t, redactor)?.text,
        None => client.id.clone(),
    };
    let secret = match &g.client_secret {
        Some(t) => {
            let s = render(ctx, t, redactor)?.text;
            redactor.add("cs", &s);
            Some(Secret::new(s))
        }
        None => client.secret.clone(),
    };
    let mut auth_method = g.auth.unwrap_or(default_auth(client.auth));

    if g.grant_type == wire::grant::PASSWORD {
        let user = target
            .user(&g.user)
            .ok_or_else(|| format!("the target has no user `{}`", g.user))?;
        let username = match &g.username {
            Some(t) => render(ctx, t, redactor)?.text,
            None => user.username.clone(),
        };
        let password = match &g.password {
            Some(t) => {
                let p = render(ctx, t, redactor)?.text;
                redactor.add("pw", &p);
                p
            }
            None => user.password.expose().to_string(),
        };
        match g
            .user_credentials
            .unwrap_or(target.password_grant.user_credentials)
        {
            UserCredentials::Form => {
                params.push(("username".into(), username));
                params.push(("password".into(), password));
            }
            UserCredentials::BasicHeader => {
                redactor.add_basic(&username, &password);
                headers.push((
                    "Authorization".into(),
                    auth::basic_raw(&username, &password),
                ));
                // The Basic header is taken by the user: the client goes in the body.
                if matches!(auth_method, AuthOverride::ClientSecretBasic) {
                    auth_method = AuthOverride::ClientSecretPost;
                }
            }
        }
        let scope = match &g.scope {
            Some(t) => Some(render(ctx, t, redactor)?.text),
            None => target.password_grant.scope.clone(),
        };
        if let Some(scope) = scope.filter(|s| !s.is_empty()) {
            params.push(("scope".into(), scope));
        }
    } else {
        if let Some(t) = &g.refresh_token {
            params.push(("refresh_token".into(), render(ctx, t, redactor)?.text));
        }
        if let Some(t) = &g.scope {
            params.push(("scope".into(), render(ctx, t, redactor)?.text));
        }
    }
    authenticate(
        auth_method,
        g.assertion,
        client,
        &client_id,
        secret.as_ref(),
        endpoint.as_str(),
        &mut params,
        &mut headers,
        &mut query,
        redactor,
    )?;
    if let Some(s) = &secret {
        redactor.add_basic(&client_id, s.expose());
        let enc_id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        let enc_secret: String = form_urlencoded::byte_serialize(s.expose().as_bytes()).collect();
        redactor.add_basic(&enc_id, &enc_secret);
    }

    for (k, t) in &g.params {
        let v = render(ctx, t, redactor)?.text;
        match params.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => params.push((k.clone(), v)),
        }
    }
    params.retain(|(k, _)| !g.omit.contains(k));
    headers.retain(|(k, _)| !g.omit.iter().any(|o| o.eq_ignore_ascii_case(k)));
    for d in &g.duplicate {
        if let Some(p) = params.iter().find(|(k, _)| k == d).cloned() {
            params.push(p);
        }
    }
    for (k, t) in &g.headers {
        let v = render(ctx, t, redactor)?.text;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v));
    }
    let body_override = g
        .body
        .as_ref()
        .map(|t| render(ctx, t, redactor))
        .transpose()?;
    finish(
        endpoint,
        g.method,
        g.encoding,
        params,
        headers,
        query,
        body_override.map(|r| r.text),
    )
}

fn finish(
    mut url: Url,
    method: HttpMethod,
    encoding: Encoding,
    params: Params,
    mut headers: Params,
    mut query: Params,
    raw_body: Option<String>,
) -> Result<WireRequest, String> {
    let in_query = encoding == Encoding::Query || (method == HttpMethod::Get && raw_body.is_none());
    let mut body = None;
    if in_query {
        query.extend(params);
    } else if let Some(raw) = raw_body {
        let ctype = take_content_type(&mut headers)
            .unwrap_or_else(|| "application/x-www-form-urlencoded".into());
        body = Some((ctype, raw.into_bytes()));
    } else if encoding == Encoding::Json {
        let map: serde_json::Map<String, serde_json::Value> = params
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let ctype = take_content_type(&mut headers).unwrap_or_else(|| "application/json".into());
        body = Some((ctype, serde_json::to_vec(&map).unwrap_or_default()));
    } else {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            s.append_pair(k, v);
        }
        let ctype = take_content_type(&mut headers)
            .unwrap_or_else(|| "application/x-www-form-urlencoded".into());
        body = Some((ctype, s.finish().into_bytes()));
    }
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &query {
            pairs.append_pair(k, v);
        }
    }
    headers.push(("Accept".into(), "application/json".into()));
    Ok(WireRequest {
        method,
        url,
        headers,
        body,
    })
}

fn take_content_type(headers: &mut Params) -> Option<String> {
    let i = headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case("content-type"))?;
    Some(headers.remove(i).1)
}

/// Builds an RFC 7009 revocation or RFC 7662 introspection request.
pub fn token_op_request(
    op: &TokenOp,
    endpoint: &Url,
    ctx: &Context,
    redactor: &Redactor,
) -> Result<WireRequest, String> {
    let client = ctx
        .target
        .client(&op.client)
        .ok_or_else(|| format!("the target has no client `{}`", op.client))?;
    let token = render(ctx, &op.token, redactor)?;
    redactor.add("tk", &token.text);
    let mut params: Params = vec![("token".into(), token.text)];
    if let Some(h) = &op.token_type_hint {
        params.push(("token_type_hint".into(), h.clone()));
    }
    let mut headers = Vec::new();
    let mut query = Vec::new();
    let method = op.auth.unwrap_or(default_auth(client.auth));
    // A client assertion names the authorization server as its audience:
    // the token endpoint, also when it authenticates a revocation or an
    // introspection (RFC 7523 §3).
    let audience = ctx.target.token_endpoint.as_ref().unwrap_or(endpoint);
    authenticate(
        method,
        None,
        client,
        &client.id,
        client.secret.as_ref(),
        audience.as_str(),
        &mut params,
        &mut headers,
        &mut query,
        redactor,
    )?;
    finish(
        endpoint.clone(),
        HttpMethod::Post,
        Encoding::Form,
        params,
        headers,
        query,
        None,
    )
}
