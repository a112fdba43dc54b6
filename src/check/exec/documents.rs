//! Documents and token operations: discovery and the JWKS fetched, id_tokens
//! verified against the keys, revocation and introspection requests.

use super::*;

impl Runner {
    pub(super) async fn get_step(
        &self,
        step: &Step,
        doc: Document,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let url = self.document_url(doc).ok_or_else(|| {
            Stop::Skip(format!(
                "the target declares no {} URL",
                match doc {
                    Document::Discovery => "discovery (nor an issuer)",
                    Document::Jwks => "jwks_uri",
                }
            ))
        })?;
        self.single(step, &WireRequest::get(url), ctx, trace).await
    }

    pub(super) async fn token_op_step(
        &self,
        step: &Step,
        op: &TokenOp,
        endpoint: Option<&url::Url>,
        key: &str,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let url = endpoint.ok_or_else(|| Stop::Skip(format!("the target has no {key}")))?;
        let wire = request::token_op_request(op, url, ctx).map_err(|e| Stop::build(step, e))?;
        self.single(step, &wire, ctx, trace).await
    }

    /// Where a published document lives.
    pub(super) fn document_url(&self, doc: Document) -> Option<url::Url> {
        match doc {
            Document::Jwks => self.target.jwks_uri.clone(),
            Document::Discovery => self.target.discovery.clone().or_else(|| {
                let issuer = self.target.issuer.as_ref()?;
                url::Url::parse(&format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ))
                .ok()
            }),
        }
    }

    /// The response's id_token against the target's JWKS.
    pub(super) async fn verify_id_token(
        &self,
        step: &Step,
        response: &HttpResponse,
    ) -> Result<(), Mismatch> {
        let subject = "id_token signature";
        let expected = "valid against the JWKS".to_string();
        let jwt = response
            .json()
            .and_then(|j| {
                j.get("id_token")
                    .and_then(|t| t.as_str().map(str::to_string))
            })
            .ok_or_else(|| Mismatch::new(subject, expected.clone(), "no id_token"))?;
        let audience = match &step.action {
            Action::Grant(g) => self.target.client(&g.client).map(|c| c.id.clone()),
            _ => None,
        }
        .unwrap_or_default();
        let jwks = self
            .jwks()
            .await
            .map_err(|e| Mismatch::new(subject, expected.clone(), e.to_string()))?;
        crate::oauth::idtoken::verify(&jwt, jwks, &audience, self.target.issuer.as_deref())
            .map_err(|e| Mismatch::new(subject, expected, e.to_string()))
    }

    /// The target's JWKS, fetched once.
    pub(super) async fn jwks(&self) -> Result<&serde_json::Value, &JwksError> {
        self.jwks
            .get_or_init(|| async {
                let url = self.target.jwks_uri.clone().ok_or(JwksError::NotDeclared)?;
                let r = http::send(self.client.get(url.clone()), self.http.request_timeout)
                    .await
                    .map_err(|e| JwksError::Fetch(e.to_string()))?;
                r.json()
                    .filter(|_| (200..300).contains(&r.status))
                    .ok_or(JwksError::NotJson(url, r.status))
            })
            .await
            .as_ref()
    }
}

/// Why the target's JWKS cannot be had: fetched once per run, so the
/// error is kept and shown to every check that needs the keys.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the target declares no jwks_uri (nor a discovery document that does)")]
    NotDeclared,
    /// The transport error, as shown (URLs without their query).
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(String),
    #[error("the JWKS at {0} answered {1} without JSON")]
    NotJson(url::Url, u16),
}
