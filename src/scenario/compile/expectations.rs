//! A step's expectations checked: statuses, `error` codes, matchers and
//! the sets over parallel answers.

use super::*;

impl Compiler<'_> {
    #[allow(clippy::type_complexity)]
    pub(super) fn expectations(
        &mut self,
        path: &str,
        s: &StepFile,
    ) -> (Option<ExpectC>, Vec<ExpectC>, Vec<SetExpectationC>) {
        let expect = s
            .expect
            .as_ref()
            .map(|e| self.expect(&format!("{path}.expect"), e));
        let expect_any = s
            .expect_any
            .iter()
            .enumerate()
            .map(|(i, e)| self.expect(&format!("{path}.expect_any[{i}]"), e))
            .collect();
        if !s.expect_any.is_empty()
            && (s.parallel.is_some() || s.chain.is_some() || s.wait.is_some())
        {
            self.err_path(
                &format!("{path}.expect_any"),
                "`expect_any` goes with a single request (not `parallel`, `chain` or `wait`)"
                    .into(),
            );
        }
        let expect_set = s
            .expect_set
            .iter()
            .map(|e| SetExpectationC {
                status: e.status.clone(),
                error: e.error.clone(),
                count: e.count,
                distinct: e.distinct.clone(),
                judges: e.judges.iter().cloned().collect(),
                count_by: e.count_by.clone(),
            })
            .collect();
        (expect, expect_any, expect_set)
    }

    /// A grant value is a registered name or an absolute URI (RFC 6749
    /// §4.5); anything else is a typo that the server would answer with
    /// `unsupported_grant_type`, looking like its defect.
    pub(super) fn grant_value(&mut self, path: &str, grant: &str) {
        use crate::wire::grant;
        const IETF: &str = "urn:ietf:params:oauth:grant-type:";
        if grant::NAMED.contains(&grant) || grant::URIS.contains(&grant) || grant == LOGIN {
            return;
        }
        // Another URI is an extension grant, unless it claims the IETF's
        // namespace, where every grant is registered.
        let close = if grant.contains(':') {
            if !grant.starts_with(IETF) {
                return;
            }
            did_you_mean(grant, grant::URIS)
        } else {
            did_you_mean(grant, grant::NAMED.iter().copied().chain([LOGIN, ANY]))
        };
        let mut d = self.source.error_at_text(
            &format!("{path}.grant"),
            grant,
            format!("`grant: {grant}` is not a grant type"),
        );
        d.help = Some(match close {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!(
                "give {}, `login` (the target's own way to sign in), `any` (the password grant where offered, else a refresh of a session) or an absolute URI for an extension grant (RFC 6749 §4.5)",
                grant::NAMED.join(", ")
            ),
        });
        self.errors.push(d);
    }

    pub(super) fn grant(&mut self, path: &str, grant: &str, s: &StepFile) -> GrantRequest {
        self.grant_value(path, grant);
        let client = s.client.clone().unwrap_or_else(|| "primary".into());
        let user = s.user.clone().unwrap_or_else(|| "primary".into());
        self.needs.clients.insert(client.clone());
        if grant == crate::wire::grant::PASSWORD || grant == LOGIN || s.user_assertion.is_some() {
            self.needs.users.insert(user.clone());
        }
        let mut params = Vec::new();
        for (k, v) in s.params.iter() {
            if let Some(t) = self.template(&format!("{path}.params.{k}"), v) {
                params.push((k.clone(), t));
            }
        }
        let mut headers = Vec::new();
        for (k, v) in s.headers.iter() {
            if let Some(t) = self.template(&format!("{path}.headers.{k}"), v) {
                headers.push((k.clone(), t));
            }
        }
        GrantRequest {
            grant_type: grant.to_string(),
            client,
            user,
            auth: s.auth,
            assertion: s.assertion,
            user_credentials: s.user_credentials,
            scope: self.opt_template(format!("{path}.scope"), &s.scope),
            refresh_token: self.opt_template(format!("{path}.refresh_token"), &s.refresh_token),
            username: self.opt_template(format!("{path}.username"), &s.username),
            password: self.opt_template(format!("{path}.password"), &s.password),
            client_id: self.opt_template(format!("{path}.client_id"), &s.client_id),
            client_secret: self.opt_template(format!("{path}.client_secret"), &s.client_secret),
            params,
            omit: s.omit.clone(),
            duplicate: s.duplicate.clone(),
            method: s.method.unwrap_or(HttpMethod::Post),
            encoding: s.encoding.unwrap_or(Encoding::Form),
            headers,
            body: self.opt_template(format!("{path}.body"), &s.body),
            dpop: s.dpop,
            user_assertion: s.user_assertion,
            exchange: s.exchange.as_ref().and_then(|name| {
                if grant != crate::wire::grant::AUTHORIZATION_CODE {
                    self.err_path(
                        &format!("{path}.exchange"),
                        "`exchange` goes with `grant: authorization_code`".to_string(),
                    );
                    None
                } else if !self.names.iter().any(|n| n == name) {
                    self.err_path(
                        &format!("{path}.exchange"),
                        format!("`{name}` is not an earlier step"),
                    );
                    None
                } else {
                    Some(name.clone())
                }
            }),
        }
    }

    pub(super) fn expect(&mut self, path: &str, e: &Expect) -> ExpectC {
        let mut out = ExpectC {
            status: e.status.clone(),
            error: e.error.clone(),
            id_token_valid: e.id_token_valid,
            level: e.level,
            judges: e.judges.iter().cloned().collect(),
            ..Default::default()
        };
        for (k, m) in e.body.iter() {
            let c = self.matcher(&format!("{path}.body.{k}"), &m.0);
            out.body.push((k.clone(), c));
        }
        for (k, m) in e.headers.iter() {
            let c = self.matcher(&format!("{path}.headers.{k}"), &m.0);
            out.headers.push((k.to_ascii_lowercase(), c));
        }
        for (k, m) in e.id_token.iter() {
            let c = self.matcher(&format!("{path}.id_token.{k}"), &m.0);
            out.id_token.push((k.clone(), c));
        }
        out
    }

    pub(super) fn tvalue(&mut self, path: &str, v: &serde_json::Value) -> Option<TValue> {
        match v {
            serde_json::Value::String(s) => self.template(path, s).map(TValue::Template),
            other => Some(TValue::Json(other.clone())),
        }
    }

    pub(super) fn matcher(&mut self, path: &str, m: &MatcherSpec) -> MatcherC {
        let regex = m.regex.as_ref().and_then(|r| match regex::Regex::new(r) {
            Ok(r) => Some(r),
            Err(e) => {
                // The regex crate explains on several lines; its last says why.
                let text = e.to_string();
                let why = text
                    .lines()
                    .last()
                    .unwrap_or(&text)
                    .trim_start_matches("error: ");
                let d = self.source.error_at_text(
                    &format!("{path}.regex"),
                    r,
                    format!("invalid regular expression `{r}`: {why}"),
                );
                self.errors.push(d);
                None
            }
        });
        if m.within_s.is_some() && m.near.is_none() {
            self.err_path(
                &format!("{path}.within_s"),
                "`within_s` goes with `near: MEMBER`".to_string(),
            );
        }
        if m.optional && m.present.is_some() {
            self.err_path(
                &format!("{path}.optional"),
                "`optional` and `present` contradict each other: keep one".to_string(),
            );
        }
        MatcherC {
            default: m.default.clone(),
            present: m.present,
            optional: m.optional,
            equals: m.equals.as_ref().and_then(|v| self.tvalue(path, v)),
            not_equals: m.not_equals.as_ref().and_then(|v| self.tvalue(path, v)),
            equals_ignore_case: m
                .equals_ignore_case
                .as_ref()
                .and_then(|v| self.template(path, v)),
            one_of: m
                .one_of
                .as_ref()
                .map(|vs| vs.iter().filter_map(|v| self.tvalue(path, v)).collect()),
            regex,
            contains: m.contains.as_ref().and_then(|v| self.template(path, v)),
            same_words: m.same_words.as_ref().and_then(|v| self.template(path, v)),
            json_type: m.json_type,
            min: m.min.as_ref().and_then(|v| self.tvalue(path, v)),
            max: m.max.as_ref().and_then(|v| self.tvalue(path, v)),
            lifetime: m.lifetime.as_ref().and_then(|v| self.tvalue(path, v)),
            lacks_word: m.lacks_word.as_ref().and_then(|t| self.template(path, t)),
            expires_after: m.expires_after.as_ref().and_then(|v| self.tvalue(path, v)),
            near: m
                .near
                .clone()
                .map(|n| (n, m.within_s.unwrap_or(300) as f64)),
            level: m.level,
        }
    }
}
