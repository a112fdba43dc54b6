//! The one place token-endpoint requests are built: grant parameters, user
//! credentials (form or Basic header), client authentication of every
//! method (RFC 6749 §2.3, RFC 7523 §2.2) and the encoding on the wire.
//!
//! `check` and `load` both call [`TokenRequest`]; `check` then applies a
//! scenario's overrides to the [`TokenForm`] before [`TokenForm::finish`].
//! No other module builds an `Authorization` header or a client assertion.

use super::auth::{self, AssertionDefect, SigningKey};
use crate::secret::Secret;
use crate::wire::{self, AuthMethod, UserCredentials};
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use url::Url;

/// A client of the target, resolved: its id, secret and signing key.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret>,
    pub auth: AuthMethod,
    /// For client_secret_jwt and private_key_jwt: what signs the assertion,
    /// checked when the target loaded.
    pub signing: Option<SigningKey>,
    /// The PEM text of a private key (only so that the redactor knows it).
    pub key_pem: Option<Secret>,
    /// `kid` header of client assertions.
    pub kid: Option<String>,
    /// DPoP (RFC 9449): the algorithm of the client's proof keys.
    pub dpop: Option<crate::dpop::DpopAlg>,
    /// DPoP: the server binds this client's refresh tokens to the key.
    pub dpop_binds_refresh: bool,
    /// DPoP: the server demands a nonce.
    pub dpop_nonce: bool,
}

/// How a request authenticates its client: the target's method, or a
/// departure from it that a scenario asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
    /// A public client: `client_id` in the body, no secret.
    None,
    /// No client identification at all.
    NoCredentials,
    /// Basic header and `client_secret` in the body together.
    BasicAndPost,
    /// Client credentials in the query string.
    Query,
}

impl ClientAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::None => "none",
            ClientAuth::NoCredentials => "no_credentials",
            ClientAuth::BasicAndPost => "basic_and_post",
            ClientAuth::Query => "query",
        }
    }
}

impl From<AuthMethod> for ClientAuth {
    fn from(m: AuthMethod) -> ClientAuth {
        match m {
            AuthMethod::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            AuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost,
            AuthMethod::ClientSecretJwt => ClientAuth::ClientSecretJwt,
            AuthMethod::PrivateKeyJwt => ClientAuth::PrivateKeyJwt,
            AuthMethod::None => ClientAuth::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Head,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Head => "HEAD",
        }
    }
}

/// Where a request's parameters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Form,
    Json,
    Query,
}

/// A request that could not be built. Raised here, before anything is sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("client assertion for `{client}`: {detail}")]
    Signing {
        client: String,
        detail: crate::oauth::auth::SignError,
    },
    #[error("`assertion` needs JWT client authentication, but the request uses {0}")]
    DefectWithoutJwt(&'static str),
    #[error("{0}")]
    Dpop(#[from] crate::dpop::DpopError),
}

/// A value a request carries that no output may show. Its `Debug` shows
/// fingerprints only.
#[derive(Clone)]
pub enum Sensitive {
    /// A secret of this kind (`ca` assertion, `pw` password, `cs` secret).
    Text(&'static str, String),
    /// Credentials that travel in a Basic header.
    Basic(String, String),
    /// A form field (body or query) whose value is secret whatever it is,
    /// shown by this kind: a login form's password input whatever its
    /// name, its hidden fields, a value `login.pages` fills from a secret.
    Field(&'static str, String),
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::secret::fingerprint;
        match self {
            Sensitive::Text(kind, v) => write!(f, "Text({})", fingerprint(kind, v)),
            Sensitive::Basic(user, pw) => {
                write!(
                    f,
                    "Basic({}:{})",
                    fingerprint("u", user),
                    fingerprint("pw", pw)
                )
            }
            Sensitive::Field(kind, name) => write!(f, "Field({kind}, {name})"),
        }
    }
}

/// A request ready to send, with the secrets it carries. Its `Debug` shows
/// the method, the URL without its query and the header names only.
#[derive(Clone)]
pub struct WireRequest {
    pub method: HttpMethod,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
    pub sensitive: Vec<Sensitive>,
}

impl std::fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut url = self.url.clone();
        url.set_query(None);
        f.debug_struct("WireRequest")
            .field("method", &self.method)
            .field("url", &url.as_str())
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "body",
                &self
                    .body
                    .as_ref()
                    .map(|(ctype, b)| format!("{ctype}, {} bytes", b.len())),
            )
            .field("sensitive", &self.sensitive)
            .finish()
    }
}

impl WireRequest {
    /// A plain GET of a published document.
    pub fn get(url: Url) -> WireRequest {
        WireRequest {
            method: HttpMethod::Get,
            url,
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
            sensitive: Vec::new(),
        }
    }

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

    /// The form parameter `name` of the body, if the body is a form.
    pub fn form_param(&self, name: &str) -> Option<String> {
        let (ctype, body) = self.body.as_ref()?;
        if !ctype.starts_with("application/x-www-form-urlencoded") {
            return None;
        }
        form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub type Params = Vec<(String, String)>;

/// The parts of a token request before encoding: a scenario may still
/// change them (`params`, `omit`, `duplicate`, `headers`). Its `Debug`
/// shows names only.
#[derive(Clone, Default)]
pub struct TokenForm {
    pub params: Params,
    pub headers: Params,
    pub query: Params,
    pub sensitive: Vec<Sensitive>,
}

/// A token request: grant, user, client. Built the same way for `check`
/// and `load`.
pub struct TokenRequest<'a> {
    grant_type: String,
    client: &'a Client,
    client_id: Option<String>,
    secret: Option<Secret>,
    auth: Option<ClientAuth>,
    defect: Option<AssertionDefect>,
    user: Option<(String, String, UserCredentials)>,
    params: Params,
    audience: &'a Url,
}

impl<'a> TokenRequest<'a> {
    /// A request for `grant_type` by `client`; `audience` is what client
    /// assertions name as `aud` (the token endpoint, RFC 7523 §3).
    pub fn new(grant_type: &str, client: &'a Client, audience: &'a Url) -> TokenRequest<'a> {
        TokenRequest {
            grant_type: grant_type.to_string(),
            client,
            client_id: None,
            secret: None,
            auth: None,
            defect: None,
            user: None,
            params: Vec::new(),
            audience,
        }
    }

    /// The resource owner's credentials, placed as the target says.
    pub fn user(mut self, username: &str, password: &str, placement: UserCredentials) -> Self {
        self.user = Some((username.to_string(), password.to_string(), placement));
        self
    }

    /// A grant parameter (`refresh_token`, `scope`, …), in order.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_string(), value.into()));
        self
    }

    /// Another `client_id` than the client's own.
    pub fn client_id(mut self, id: String) -> Self {
        self.client_id = Some(id);
        self
    }

    /// Another secret than the client's own.
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Another authentication method than the client's own.
    pub fn auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// A defective client assertion.
    pub fn defect(mut self, defect: AssertionDefect) -> Self {
        self.defect = Some(defect);
        self
    }

    /// The parameters, headers and query of the request.
    pub fn build(self) -> Result<TokenForm, RequestError> {
        let mut form = TokenForm {
            params: vec![("grant_type".into(), self.grant_type.clone())],
            ..TokenForm::default()
        };
        let mut auth_method = self.auth.unwrap_or(self.client.auth.into());
        if let Some((username, password, placement)) = &self.user {
            form.sensitive.push(Sensitive::Text("pw", password.clone()));
            match placement {
                UserCredentials::Form => {
                    form.params.push(("username".into(), username.clone()));
                    form.params.push(("password".into(), password.clone()));
                }
                UserCredentials::BasicHeader => {
                    form.sensitive
                        .push(Sensitive::Basic(username.clone(), password.clone()));
                    form.headers
                        .push(("Authorization".into(), auth::basic_raw(username, password)));
                    // The Basic header is taken by the user: the client's
                    // credentials go in the body.
                    if auth_method == ClientAuth::ClientSecretBasic {
                        auth_method = ClientAuth::ClientSecretPost;
                    }
                }
            }
        }
        form.params.extend(self.params.iter().cloned());
        self.authenticate(auth_method, &mut form)?;
        Ok(form)
    }

    fn authenticate(&self, method: ClientAuth, form: &mut TokenForm) -> Result<(), RequestError> {
        let id = self.client_id.as_deref().unwrap_or(&self.client.id);
        let secret = self.secret.as_ref().or(self.client.secret.as_ref());
        let secret_text = secret.map(Secret::expose).unwrap_or_default();
        if let Some(s) = secret {
            form.sensitive
                .push(Sensitive::Text("cs", s.expose().into()));
            form.sensitive
                .push(Sensitive::Basic(id.into(), s.expose().into()));
            let enc_id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
            let enc_secret: String =
                form_urlencoded::byte_serialize(s.expose().as_bytes()).collect();
            form.sensitive.push(Sensitive::Basic(enc_id, enc_secret));
        }
        let jwt = matches!(
            method,
            ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt
        );
        if self.defect.is_some() && !jwt {
            return Err(RequestError::DefectWithoutJwt(method.as_str()));
        }
        let basic = || {
            (
                "Authorization".to_string(),
                auth::client_basic(id, secret_text),
            )
        };
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        match method {
            ClientAuth::ClientSecretBasic => form.headers.push(basic()),
            ClientAuth::ClientSecretPost => {
                form.params.push(pair("client_id", id));
                form.params.push(pair("client_secret", secret_text));
            }
            ClientAuth::BasicAndPost => {
                form.headers.push(basic());
                form.params.push(pair("client_id", id));
                form.params.push(pair("client_secret", secret_text));
            }
            ClientAuth::Query => {
                form.query.push(pair("client_id", id));
                form.query.push(pair("client_secret", secret_text));
            }
            ClientAuth::None => form.params.push(pair("client_id", id)),
            ClientAuth::NoCredentials => {}
            ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt => {
                let key = self.signing_key(method)?;
                let assertion = auth::client_assertion(
                    id,
                    self.audience.as_str(),
                    &key,
                    secret,
                    self.client.kid.as_deref(),
                    self.defect,
                )
                .map_err(|detail| RequestError::Signing {
                    client: id.to_string(),
                    detail,
                })?;
                let assertion_type = if self.defect == Some(AssertionDefect::WrongType) {
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                } else {
                    wire::CLIENT_ASSERTION_TYPE_JWT
                };
                form.params.push(pair("client_id", id));
                form.params
                    .push(pair("client_assertion_type", assertion_type));
                form.params
                    .push(pair("client_assertion", assertion.expose()));
                form.sensitive
                    .push(Sensitive::Text("ca", assertion.expose().into()));
            }
        }
        Ok(())
    }

    /// The key for a JWT method: the client's own when it fits, HS256 with
    /// the secret for a client_secret_jwt departure from another method.
    fn signing_key(&self, method: ClientAuth) -> Result<SigningKey, RequestError> {
        match (method, &self.client.signing) {
            (ClientAuth::ClientSecretJwt, Some(k @ SigningKey::Hmac(_))) => Ok(k.clone()),
            (ClientAuth::ClientSecretJwt, _) => Ok(SigningKey::Hmac(Algorithm::HS256)),
            (_, Some(k @ SigningKey::Private(..))) => Ok(k.clone()),
            _ => Err(RequestError::Signing {
                client: self.client.id.clone(),
                detail: crate::oauth::auth::SignError::NoKeyFile,
            }),
        }
    }
}

impl std::fmt::Debug for TokenForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |p: &Params| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        f.debug_struct("TokenForm")
            .field("params", &names(&self.params))
            .field("headers", &names(&self.headers))
            .field("query", &names(&self.query))
            .field("sensitive", &self.sensitive)
            .finish()
    }
}

impl TokenForm {
    /// Encodes the request: form body (default), JSON body, or query string.
    pub fn finish(
        self,
        mut url: Url,
        method: HttpMethod,
        encoding: Encoding,
        raw_body: Option<String>,
    ) -> WireRequest {
        let TokenForm {
            params,
            mut headers,
            mut query,
            sensitive,
        } = self;
        let in_query =
            encoding == Encoding::Query || (method == HttpMethod::Get && raw_body.is_none());
        let form_type = "application/x-www-form-urlencoded";
        let body = if in_query {
            query.extend(params);
            None
        } else if let Some(raw) = raw_body {
            let ctype = take_content_type(&mut headers).unwrap_or_else(|| form_type.into());
            Some((ctype, raw.into_bytes()))
        } else if encoding == Encoding::Json {
            let map: serde_json::Map<String, serde_json::Value> = params
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            let ctype =
                take_content_type(&mut headers).unwrap_or_else(|| "application/json".into());
            Some((ctype, serde_json::to_vec(&map).unwrap_or_default()))
        } else {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &params {
                s.append_pair(k, v);
            }
            let ctype = take_content_type(&mut headers).unwrap_or_else(|| form_type.into());
            Some((ctype, s.finish().into_bytes()))
        };
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &query {
                pairs.append_pair(k, v);
            }
        }
        headers.push(("Accept".into(), "application/json".into()));
        WireRequest {
            method,
            url,
            headers,
            body,
            sensitive,
        }
    }

    /// The usual token request: a form POST.
    pub fn post(self, url: Url) -> WireRequest {
        self.finish(url, HttpMethod::Post, Encoding::Form, None)
    }
}

impl WireRequest {
    /// `self` with a fresh DPoP proof (RFC 9449) by `key` for its method
    /// and URL, carrying the server's `nonce` when it gave one.
    pub fn with_dpop(
        mut self,
        key: &crate::dpop::DpopKey,
        nonce: Option<&str>,
    ) -> Result<WireRequest, RequestError> {
        let proof = key
            .proof(self.method.as_str(), self.url.as_str(), nonce)
            .map_err(RequestError::Dpop)?;
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("DPoP"));
        self.headers.push(("DPoP".into(), proof));
        Ok(self)
    }
}

/// The server nonce a refused DPoP request asks for (`use_dpop_nonce` with
/// a `DPoP-Nonce` header, RFC 9449 §8).
pub fn dpop_nonce_demanded(r: &super::http::HttpResponse) -> Option<String> {
    if !(400..500).contains(&r.status) {
        return None;
    }
    let code = r.json()?.get("error")?.as_str()?.to_string();
    (code == "use_dpop_nonce").then(|| r.header("DPoP-Nonce"))?
}

fn take_content_type(headers: &mut Params) -> Option<String> {
    let i = headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case("content-type"))?;
    Some(headers.remove(i).1)
}

/// An RFC 7009 revocation or RFC 7662 introspection request, authenticated
/// as the client would authenticate at the token endpoint.
pub fn token_operation(
    endpoint: &Url,
    token: &str,
    hint: Option<&str>,
    client: &Client,
    auth: Option<ClientAuth>,
    audience: &Url,
) -> Result<WireRequest, RequestError> {
    let mut form = TokenForm {
        params: vec![("token".into(), token.to_string())],
        sensitive: vec![Sensitive::Text("tk", token.to_string())],
        ..TokenForm::default()
    };
    if let Some(h) = hint {
        form.params.push(("token_type_hint".into(), h.to_string()));
    }
    let mut request = TokenRequest::new("", client, audience);
    request.auth = auth;
    let method = request.auth.unwrap_or(client.auth.into());
    request.authenticate(method, &mut form)?;
    Ok(form.post(endpoint.clone()))
}
