//! One step checked: its name, its one action, the rules that tie its keys
//! together (`parallel`, `chain`, `timing_probe`, `within`…).

use super::*;

impl Compiler<'_> {
    /// One step: its name, its one action, the rules that tie its keys
    /// together, its expectations.
    pub(super) fn step(&mut self, i: usize, s: &StepFile) -> Option<Step> {
        let path = format!("steps[{i}]");
        let name = s.name.clone().unwrap_or_else(|| default_step_name(i, s));
        self.step_name(&path, s);
        if !self.one_action(i, &path, s) {
            return None;
        }
        self.step_rules(&path, s);
        let chain = self.chain(&path, s);
        let action = self.action(&path, s)?;
        let (expect, expect_any, expect_set) = self.expectations(&path, s);
        let not_applicable_if = s
            .not_applicable_if
            .iter()
            .enumerate()
            .map(|(j, n)| {
                let e = self.expect(&format!("{path}.not_applicable_if[{j}].when"), &n.when);
                (e, n.reason.clone())
            })
            .collect();
        let within = self.within(&path, s);
        let with_revoke = self.with_revoke(&path, s);
        self.across_addresses(&path, s);
        let only_if = self.only_if(&path, s);
        let setup = s.setup.unwrap_or_else(|| self.is_setup(s, expect.as_ref()));
        // Not for the checks that judge client authentication itself.
        let judges_client = self
            .covers
            .iter()
            .any(|c| c.starts_with("CA-") || c == "PW-CLIENT");
        let own_client = !judges_client
            && (s.grant.is_some() || s.revoke.is_some() || s.introspect.is_some())
            && s.auth.is_none()
            && s.assertion.is_none()
            && s.client_id.is_none()
            && s.client_secret.is_none()
            && !s.omit.iter().any(|o| {
                [
                    "client_id",
                    "client_secret",
                    "client_assertion",
                    "authorization",
                ]
                .contains(&o.to_ascii_lowercase().as_str())
            })
            && !s
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if s.name.is_some() {
            self.names.push(name.clone());
        }
        Some(Step {
            name,
            action,
            expect,
            expect_any,
            expect_set,
            tokens: s.tokens.clone(),
            chain,
            parallel: s.parallel.unwrap_or(1),
            with_revoke,
            across_addresses: s.across_addresses,
            only_if,
            setup,
            not_applicable_if,
            within,
            own_client,
            repeat: s.repeat.unwrap_or(1),
            timing: s.timing.clone(),
            timing_probe: s.timing_probe.clone(),
            sample: 0,
        })
    }

    /// `grant: any`: the step compiled twice, as a password grant and as a
    /// refresh of a session the target's login starts (a `parallel` sample
    /// becomes refreshes one after another: parallel copies of one refresh
    /// token would be a race, CC-RACE's question, not this one's).
    pub(super) fn any_step(&mut self, i: usize, s: &StepFile) -> Option<Step> {
        use crate::wire::grant;
        let path = format!("steps[{i}]");
        if s.refresh_token.is_some() || s.username.is_some() || s.password.is_some() {
            self.err_path(
                &path,
                "`grant: any` picks its own credentials (the user's, or a session's refresh token): leave out refresh_token, username and password".into(),
            );
            return None;
        }
        if s.parallel.is_some() && s.tokens.is_none() {
            self.err_path(
                &format!("{path}.parallel"),
                "`grant: any` with `parallel` samples tokens (give `tokens`); a race needs a grant of its own".into(),
            );
            return None;
        }
        let names = self.names.clone();
        let password = self.step(
            i,
            &StepFile {
                grant: Some(grant::PASSWORD.into()),
                ..s.clone()
            },
        )?;
        // The same step again, in its other form: its name is taken once.
        self.names = names;
        let mut refresh = Vec::new();
        let mut r = StepFile {
            grant: Some(grant::REFRESH_TOKEN.into()),
            user_credentials: None,
            ..s.clone()
        };
        if s.body.is_none() {
            let session = format!("session-of-step-{}", i + 1);
            let expect: Expect =
                serde_yaml::from_str("{ status: 200, body: { refresh_token: present } }")
                    .expect("a valid expectation");
            let login = StepFile {
                name: Some(session.clone()),
                grant: Some(LOGIN.into()),
                client: s.client.clone(),
                user: s.user.clone(),
                expect: Some(expect),
                setup: Some(true),
                ..StepFile::default()
            };
            refresh.push(self.step(i, &login)?);
            r.refresh_token = Some(format!("{{{{ {session}.refresh_token }}}}"));
        }
        let mut step = self.step(i, &r)?;
        if let Some(n) = s.parallel {
            step.sample = n;
            step.parallel = 1;
        }
        refresh.push(step);
        Some(Step {
            name: password.name.clone(),
            action: Action::Any(Box::new(Vehicle { password, refresh })),
            expect: None,
            expect_any: Vec::new(),
            expect_set: Vec::new(),
            tokens: None,
            chain: None,
            parallel: 1,
            with_revoke: None,
            across_addresses: false,
            only_if: None,
            setup: false,
            not_applicable_if: Vec::new(),
            within: None,
            own_client: false,
            repeat: 1,
            timing: None,
            timing_probe: None,
            sample: 0,
        })
    }

    /// `with_revoke`: only beside a `parallel` refresh.
    pub(super) fn with_revoke(&mut self, path: &str, s: &StepFile) -> Option<TokenOp> {
        let text = s.with_revoke.as_deref()?;
        if s.parallel.is_none() || s.grant.as_deref() != Some(crate::wire::grant::REFRESH_TOKEN) {
            self.err_path(
                &format!("{path}.with_revoke"),
                "`with_revoke` races a revocation against a `parallel` refresh: it needs `grant: refresh_token` and `parallel`".into(),
            );
            return None;
        }
        let token = self.template(&format!("{path}.with_revoke"), text)?;
        Some(TokenOp {
            token,
            client: s.client.clone().unwrap_or_else(|| "primary".into()),
            auth: None,
            token_type_hint: Some("refresh_token".into()),
        })
    }

    /// `across_addresses` spreads the copies of a `parallel` step.
    pub(super) fn across_addresses(&mut self, path: &str, s: &StepFile) {
        if s.across_addresses && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.across_addresses"),
                "`across_addresses` spreads the copies of a `parallel` step: give `parallel` too"
                    .into(),
            );
        }
    }

    /// `only_if: STEP.MEMBER`, naming an earlier step.
    pub(super) fn only_if(&mut self, path: &str, s: &StepFile) -> Option<(String, String)> {
        let text = s.only_if.as_deref()?;
        match text.split_once('.') {
            Some((step, member)) if self.names.iter().any(|n| n == step) && !member.is_empty() => {
                Some((step.to_string(), member.to_string()))
            }
            _ => {
                self.err_path(
                    &format!("{path}.only_if"),
                    format!(
                        "`{text}`: write STEP.MEMBER, naming an earlier step (`race.refresh_token`)"
                    ),
                );
                None
            }
        }
    }

    /// The default for `setup`: an unmodified login expecting success, in
    /// a scenario that does not judge that grant itself.
    pub(super) fn is_setup(&self, s: &StepFile, expect: Option<&ExpectC>) -> bool {
        let Some(grant) = s.grant.as_deref() else {
            return false;
        };
        let judged_prefix = match grant {
            crate::wire::grant::PASSWORD => "PW-",
            crate::wire::grant::CLIENT_CREDENTIALS => "RB-CC",
            // A login is never what a check judges.
            LOGIN => "\0",
            _ => return false,
        };
        // A login by another client than the primary one is what the
        // scenario is about (reserved characters, a denied client).
        let primary = s.client.as_deref().is_none_or(|c| c == "primary");
        let plain = primary
            && s.scope.is_none()
            && s.expect_any.is_empty()
            && s.auth.is_none()
            && s.assertion.is_none()
            && s.user_credentials.is_none()
            && s.username.is_none()
            && s.password.is_none()
            && s.client_id.is_none()
            && s.client_secret.is_none()
            && s.params.is_empty()
            && s.omit.is_empty()
            && s.duplicate.is_empty()
            && s.method.is_none()
            && s.encoding.is_none()
            && s.headers.is_empty()
            && s.body.is_none()
            && s.parallel.is_none();
        let expects_success = expect
            .and_then(|e| e.status.as_ref())
            .is_none_or(|st| st.0.iter().all(|p| p.matches(200) || p.matches(201)));
        plain && expects_success && !self.covers.iter().any(|c| c.starts_with(judged_prefix))
    }

    pub(super) fn within(&mut self, path: &str, s: &StepFile) -> Option<WaitTerm> {
        let text = s.within.as_ref()?;
        if s.wait.is_none() {
            self.err_path(
                &format!("{path}.within"),
                "`within` goes with `wait`".into(),
            );
            return None;
        }
        match parse_wait(text)
            .ok()
            .and_then(|w| match w.terms.as_slice() {
                [(f, t)] if *f == 1.0 && !matches!(t, WaitTerm::Fixed(_)) => Some(*t),
                _ => None,
            }) {
            Some(t) => Some(t),
            None => {
                self.err_path(
                    &format!("{path}.within"),
                    format!(
                        "`within: {text}` must name one declared lifetime: {}",
                        WaitTerm::NAMES.join(", ")
                    ),
                );
                None
            }
        }
    }

    pub(super) fn step_name(&mut self, path: &str, s: &StepFile) {
        if let Some(n) = &s.name {
            let ok = n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if !ok {
                self.err_path(&format!("{path}.name"), format!("step name `{n}` must start with a letter and hold only letters, digits, `_` or `-`"));
            } else if BUILTIN_ROOTS.contains(&n.as_str()) {
                self.err_path(
                    &format!("{path}.name"),
                    format!("`{n}` is reserved; choose another step name"),
                );
            } else if self.names.contains(n) {
                self.err_path(
                    &format!("{path}.name"),
                    format!("a step named `{n}` already exists"),
                );
            }
        }
    }

    pub(super) fn one_action(&mut self, i: usize, path: &str, s: &StepFile) -> bool {
        let actions = [
            s.grant.is_some(),
            s.wait.is_some(),
            s.revoke.is_some(),
            s.introspect.is_some(),
            s.get.is_some(),
            s.authorize.is_some(),
        ];
        let count = actions.iter().filter(|a| **a).count();
        if count != 1 {
            let what = if count == 0 {
                "has no action"
            } else {
                "has more than one action"
            };
            self.err_path(
                path,
                format!(
                    "step {} {what}: give exactly one of `grant`, `wait`, `revoke`, `introspect`, `get`, `authorize`",
                    i + 1
                ),
            );
            return false;
        }
        true
    }

    /// Keys that only make sense together (`parallel` with `grant`, …).
    pub(super) fn step_rules(&mut self, path: &str, s: &StepFile) {
        if let Some(p) = &s.timing_probe {
            let alone = s.repeat.is_none() && s.parallel.is_none() && s.chain.is_none();
            if s.grant.as_deref() != Some("password") || !alone {
                self.err_path(
                    &format!("{path}.timing_probe"),
                    "`timing_probe` goes with `grant: password` (not `repeat`, `parallel` or `chain`)".into(),
                );
            }
            if !(6..=30).contains(&p.samples) || !(1..=3).contains(&p.reset_every) {
                self.err_path(
                    &format!("{path}.timing_probe"),
                    "`samples` is between 6 and 30, `reset_every` between 1 and 3".into(),
                );
            }
            if p.min_difference_ms < 0.0 {
                self.err_path(
                    &format!("{path}.timing_probe.min_difference_ms"),
                    "`min_difference_ms` is not negative".into(),
                );
            }
        }
        if let Some(n) = s.repeat
            && (s.grant.is_none()
                || s.parallel.is_some()
                || s.chain.is_some()
                || !(2..=50).contains(&n))
        {
            self.err_path(
                &format!("{path}.repeat"),
                "`repeat` goes with `grant` (not `parallel` or `chain`) and must be between 2 and 50".into(),
            );
        }
        if let Some(t) = &s.timing {
            if s.repeat.is_none() {
                self.err_path(
                    &format!("{path}.timing"),
                    "`timing` compares repeated steps: give this step `repeat`".into(),
                );
            }
            if !self.names.contains(&t.like) {
                self.err_path(
                    &format!("{path}.timing.like"),
                    format!("`{}` is not an earlier named step", t.like),
                );
            }
            if !(t.max_ratio >= 1.0 && t.min_difference_ms >= 0.0) {
                self.err_path(
                    &format!("{path}.timing"),
                    "`max_ratio` is at least 1 and `min_difference_ms` not negative".into(),
                );
            }
        }
        let parallel = s.parallel.unwrap_or(1);
        if s.parallel.is_some() && (s.grant.is_none() || !(2..=200).contains(&parallel)) {
            self.err_path(
                &format!("{path}.parallel"),
                "`parallel` goes with `grant` and must be between 2 and 200".into(),
            );
        }
        if s.assertion.is_some() && s.grant.is_none() {
            self.err_path(
                &format!("{path}.assertion"),
                "`assertion` goes with `grant`".into(),
            );
        }
        if s.assertion == Some(AssertionDefect::Replayed) && s.parallel.is_some() {
            self.err_path(
                &format!("{path}.assertion"),
                "`assertion: replayed` sends the request twice in a row; it cannot go with `parallel`".into(),
            );
        }
        if s.tokens.is_some() && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.tokens"),
                "`tokens` samples the responses of a `parallel` step (use 16 or more)".into(),
            );
        }
        if !s.expect_set.is_empty() && s.parallel.is_none() {
            self.err_path(
                &format!("{path}.expect_set"),
                "`expect_set` needs `parallel`".into(),
            );
        }
    }

    pub(super) fn chain(&mut self, path: &str, s: &StepFile) -> Option<(WaitExpr, WaitExpr)> {
        match &s.chain {
            Some(c) => {
                if s.grant.as_deref() != Some(crate::wire::grant::REFRESH_TOKEN)
                    || s.parallel.is_some()
                {
                    self.err_path(
                        &format!("{path}.chain"),
                        "`chain` goes with `grant: refresh_token` (and not with `parallel`)".into(),
                    );
                }
                let mut parse = |field: &str, text: &str| match parse_wait(text) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        self.err_path(&format!("{path}.chain.{field}"), e.to_string());
                        None
                    }
                };
                match (parse("every", &c.every), parse("until", &c.until)) {
                    (Some(every), Some(until)) => Some((every, until)),
                    _ => None,
                }
            }
            None => None,
        }
    }

    pub(super) fn action(&mut self, path: &str, s: &StepFile) -> Option<Action> {
        Some(if let Some(grant) = &s.grant {
            Action::Grant(Box::new(self.grant(path, grant, s)))
        } else if let Some(wait) = &s.wait {
            if s.expect.is_some() {
                self.err_path(
                    &format!("{path}.expect"),
                    "a `wait` step has no response to expect anything of".into(),
                );
            }
            match parse_wait(wait) {
                Ok(w) => Action::Wait(w),
                Err(m) => {
                    self.err_path(&format!("{path}.wait"), m.to_string());
                    return None;
                }
            }
        } else if let Some(doc) = s.get {
            Action::Get(doc)
        } else if let Some(a) = &s.authorize {
            let client = s.client.clone().unwrap_or_else(|| "primary".into());
            let user = s.user.clone().unwrap_or_else(|| "primary".into());
            self.needs.clients.insert(client.clone());
            self.needs.users.insert(user.clone());
            let mut params = Vec::new();
            for (k, v) in s.params.iter() {
                if let Some(t) = self.template(&format!("{path}.params.{k}"), v) {
                    params.push((k.clone(), t));
                }
            }
            Action::Authorize(Box::new(AuthorizeStep {
                client,
                user,
                scope: self.opt_template(format!("{path}.scope"), &s.scope),
                params,
                pkce: a.pkce,
            }))
        } else {
            let (key, token) = match (&s.revoke, &s.introspect) {
                (Some(t), _) => ("revoke", t),
                (_, Some(t)) => ("introspect", t),
                _ => unreachable!("one action is present"),
            };
            let token = self.template(&format!("{path}.{key}"), token)?;
            let client = s.client.clone().unwrap_or_else(|| "primary".into());
            self.needs.clients.insert(client.clone());
            let op = TokenOp {
                token,
                client,
                auth: s.auth,
                token_type_hint: s.token_type_hint.clone(),
            };
            if key == "revoke" {
                Action::Revoke(op)
            } else {
                Action::Introspect(op)
            }
        })
    }
}

/// The name of a step its author did not name: its position and what it
/// does (`#2 refresh_token`, `#3 wait`), so that reports say which step.
pub(super) fn default_step_name(i: usize, s: &StepFile) -> String {
    let what = if let Some(g) = &s.grant {
        match s.parallel {
            Some(n) => format!("{g} ×{n}"),
            None => g.clone(),
        }
    } else if s.wait.is_some() {
        "wait".into()
    } else if s.revoke.is_some() {
        "revoke".into()
    } else if s.introspect.is_some() {
        "introspect".into()
    } else if let Some(doc) = s.get {
        match doc {
            Document::Discovery => "get discovery".into(),
            Document::Jwks => "get jwks".into(),
        }
    } else if s.authorize.is_some() {
        "authorize".into()
    } else {
        "step".into()
    };
    format!("#{} {what}", i + 1)
}
