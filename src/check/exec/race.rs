//! Documents and token operations: discovery and the JWKS fetched, id_tokens
//! verified against the keys, revocation and introspection requests.

use super::repeat::token_quality;
use super::*;

impl Runner {
    /// N copies of one request on pre-opened connections, released together.
    /// Each copy is built anew: a client assertion must carry its own `jti`,
    /// or the server rightly refuses the copies as replays.
    pub(super) async fn parallel(
        &self,
        step: &Step,
        g: &GrantRequest,
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let n = step.parallel as usize;
        let wires = (0..n)
            .map(|_| request::grant_request(g, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Stop::build(step, e))?;
        let wire = wires[0].clone();
        let wire = &wire;
        // One client, or one per address of the host (`across_addresses`).
        let (clients, spread) = if step.across_addresses {
            let (clients, addrs) = self.address_clients(&wire.url, n).await?;
            let spread = format!(
                " across {} addresses ({})",
                addrs.len(),
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (clients, spread)
        } else {
            let client = http::build_client(&self.http, n).map_err(|e| Stop::transport(step, e))?;
            (vec![client], String::new())
        };
        let client = &clients[0];
        // Open the connections first (any answer will do), so that the real
        // requests leave together instead of queueing behind handshakes.
        let warm = (0..n).map(|i| {
            let c = clients[i % clients.len()].clone();
            let url = wire.url.clone();
            async move { http::send(c.head(url), Duration::from_secs(5)).await }
        });
        futures::future::join_all(warm).await;
        // A revocation raced against the copies (`with_revoke`).
        let revoke = match &step.with_revoke {
            Some(op) => {
                let url =
                    self.target.revocation_endpoint.as_ref().ok_or_else(|| {
                        Stop::Skip("the target has no revocation_endpoint".into())
                    })?;
                Some(request::token_op_request(op, url, ctx).map_err(|e| Stop::build(step, e))?)
            }
            None => None,
        };
        // Sent together; once more with the server's DPoP nonce when every
        // answer demands one (RFC 9449 §8; never after a raced revocation).
        let mut wires = wires;
        let mut tries = 0;
        let (results, revoked): (Vec<Exchanged>, Option<Exchanged>) = loop {
            tries += 1;
            let (results, revoked) = {
                let barrier =
                    Arc::new(tokio::sync::Barrier::new(n + usize::from(revoke.is_some())));
                let sends = wires.iter().enumerate().map(|(i, w)| {
                    let b = barrier.clone();
                    let client = &clients[i % clients.len()];
                    async move {
                        b.wait().await;
                        record::exchange(client, w, self.http.request_timeout, &self.redactor).await
                    }
                });
                let revocation = async {
                    match &revoke {
                        Some(w) => {
                            barrier.clone().wait().await;
                            // A hair after the refreshes: on a fast server one of
                            // them is checked first, so the race is really run.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            Some(
                                record::exchange(
                                    client,
                                    w,
                                    self.http.request_timeout,
                                    &self.redactor,
                                )
                                .await,
                            )
                        }
                        None => None,
                    }
                };
                futures::join!(futures::future::join_all(sends), revocation)
            };
            let nonce = results
                .iter()
                .map(|e| {
                    e.response
                        .as_ref()
                        .ok()
                        .and_then(crate::oauth::request::dpop_nonce_demanded)
                })
                .collect::<Option<Vec<String>>>()
                .and_then(|n| n.into_iter().next());
            match nonce {
                Some(nonce) if tries == 1 && revoke.is_none() => {
                    ctx.dpop.lock().unwrap_or_else(|p| p.into_inner()).nonce = Some(nonce);
                    wires = (0..n)
                        .map(|_| request::grant_request(g, ctx))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| Stop::build(step, e))?;
                }
                _ => break (results, revoked),
            }
        };
        // A sample (not a race): copies the transport cut short are sent
        // again, each alone; what a copy would have said is no race.
        let results = if step.tokens.is_some() {
            let mut kept = Vec::with_capacity(results.len());
            for (e, w) in results.into_iter().zip(&wires) {
                kept.push(self.retry_alone(step, w, e).await);
            }
            kept
        } else {
            results
        };
        if let (Some(r), Some(w)) = (revoked, &revoke) {
            let summary = match &r.response {
                Ok(resp) => format!("raced revocation: {}", describe(w, resp)),
                Err(e) => format!("raced revocation: {e}"),
            };
            trace
                .records
                .push(self.step_record(step, summary, r.record));
        }
        let how = format!(
            "{} × {} {}{spread}",
            n,
            wire.method.as_str(),
            wire.url.path()
        );
        self.judge_set(step, g, wire, results, how, &[], ctx, trace)
            .await
    }

    /// The answers of a parallel step or a sample, judged together: the
    /// set's expectations, the tokens' quality (`sent`: tokens the requests
    /// carried, not issued by them), each answer's own expectations.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn judge_set(
        &self,
        step: &Step,
        g: &GrantRequest,
        wire: &WireRequest,
        results: Vec<Exchanged>,
        how: String,
        sent: &[String],
        ctx: &mut Context<'_>,
        trace: &mut Trace<'_>,
    ) -> Result<(), Stop> {
        let (responses, exchanges): (Vec<Option<HttpResponse>>, Vec<Exchange>) = results
            .into_iter()
            .map(|e| (e.response.ok(), e.record))
            .unzip();
        let summary = format!("{how} → {}", expect::tally(&responses));
        let shown = responses
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| (200..300).contains(&r.status)))
            .or(responses.iter().position(Option::is_some))
            .unwrap_or(0);
        trace
            .records
            .push(self.step_record(step, summary, exchanges[shown].clone()));
        let answered: Vec<&HttpResponse> = responses.iter().flatten().collect();
        if step.own_client
            && !answered.is_empty()
            && answered
                .iter()
                .all(|r| expect::error_code(r).as_deref() == Some("invalid_client"))
        {
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server refused the credentials of clients.{} ({}): check them in the target",
                    g.client,
                    answer(answered[0])
                ),
            });
        }
        // Server errors among the copies: ER-NO5XX's, once; what the set
        // and the token sample would say is not this check's to judge.
        if !trace.covers.iter().any(|c| c == "ER-NO5XX")
            && let Some((r, x)) = responses.iter().zip(&exchanges).find(|(r, _)| {
                r.as_ref().is_some_and(|r| {
                    (500..600).contains(&r.status) && expect::error_code(r).is_none()
                })
            })
            && let Some(r) = r
        {
            let n = answered
                .iter()
                .filter(|r| r.status >= 500 && expect::error_code(r).is_none())
                .count();
            trace.attributed.push(Attributed {
                id: "ER-NO5XX",
                step: step.name.clone(),
                subject: "status".into(),
                expected: "no 5xx".into(),
                actual: format!("{} ({n} of {} copies)", answer(r), responses.len()),
                exchange: Some(x.clone()),
            });
            return Err(Stop::Blocked {
                step: step.name.clone(),
                by: format!(
                    "the server failed with {} in {n} of {} parallel requests (ER-NO5XX judges it, once); this check's own property was not tried",
                    answer(r),
                    responses.len()
                ),
            });
        }
        let incidental = crate::check::causes::code_is_incidental(trace.covers)
            && !trace.covers.iter().any(|c| c == "ER-CODE");
        let wrong_codes =
            expect::check_set(&step.expect_set, &responses, incidental).map_err(|m| {
                if m.defect == expect::Defect::NoAnswer {
                    return Stop::error(
                        step,
                        ErrorClass::Timeout,
                        format!(
                            "{}: {}, not evidence about the check; raise timing.request_timeout_s ({} s), or lower -j",
                            m.subject,
                            m.actual,
                            self.http.request_timeout.as_secs_f64()
                        ),
                    );
                }
                let mut shown = distinct_answers(&responses, &exchanges).into_iter();
                let mut f = Finding::new(&step.name, m.subject, m.expected, m.actual);
                f.exchange = shown.next();
                f.exchanges = shown.collect();
                f.judges = m.judges;
                Stop::Finding(Box::new(f))
            })?;
        for (expected, actual) in wrong_codes {
            // The refusal held; its code is ER-CODE's to judge, once.
            let exchange = responses
                .iter()
                .zip(&exchanges)
                .find(|(r, _)| {
                    r.as_ref()
                        .and_then(expect::error_code)
                        .is_some_and(|c| actual.trim_matches('`') == c)
                })
                .map(|(_, x)| x.clone());
            trace.attributed.push(Attributed {
                id: "ER-CODE",
                step: step.name.clone(),
                subject: "error".into(),
                expected,
                actual,
                exchange,
            });
        }
        if let Some(q) = &step.tokens {
            // JWT signatures count only when they verify against the
            // target's keys.
            let jwks = match self.target.jwks_uri {
                Some(_) => self.jwks().await.ok(),
                None => None,
            };
            token_quality(q, &responses, sent, jwks).map_err(|m| self.finding(step, m, None))?;
        }
        if let Some(e) = &step.expect {
            for (r, x) in responses.iter().zip(&exchanges) {
                if let Some(r) = r {
                    expect::check(e, r, ctx).map_err(|m| self.finding(step, m, Some(x.clone())))?;
                }
            }
        }
        if let Some(r) = &responses[shown] {
            ctx.capture(
                &step.name,
                Captured::from_token_response(r, wire.form_param("scope").as_deref()),
            );
        }
        Ok(())
    }

    /// One client per address the URL's host resolves to, each with
    /// `pool` connections, for those that answer at all (any HTTP answer).
    /// Skips, with the reason, when fewer than two do: there is nothing to
    /// race across (an IP address, one address, or only one reachable).
    pub(super) async fn address_clients(
        &self,
        url: &url::Url,
        pool: usize,
    ) -> Result<(Vec<reqwest::Client>, Vec<std::net::SocketAddr>), Stop> {
        let Some(url::Host::Domain(domain)) = url.host() else {
            return Err(Stop::Skip(format!(
                "not applicable: the token endpoint's host {} is an address, not a name that could resolve to several",
                url.host_str().unwrap_or("")
            )));
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let mut addrs: Vec<std::net::SocketAddr> = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((domain, port)),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|a| a.collect())
        .unwrap_or_default();
        addrs.sort();
        addrs.dedup();
        let mut answering = Vec::new();
        for addr in &addrs {
            let Ok(client) = http::build_client_at(&self.http, pool, Some((domain, *addr))) else {
                continue;
            };
            if http::send(client.head(url.clone()), Duration::from_secs(5))
                .await
                .is_ok()
            {
                answering.push((client, *addr));
            }
        }
        if answering.len() < 2 {
            return Err(Stop::Skip(format!(
                "not applicable: {domain} resolves to {} address{} ({}), {} of which answer{}: nothing to race across",
                addrs.len(),
                if addrs.len() == 1 { "" } else { "es" },
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                answering.len(),
                if answering.len() == 1 { "s" } else { "" }
            )));
        }
        Ok(answering.into_iter().unzip())
    }
}

/// The exchanges behind a set of parallel answers, one per distinct answer
/// (a success per distinct refresh token, then a refusal per status and
/// `error`, then one without an answer), successes first, at most 8: what
/// a reader of a race finding needs to see that two refreshes won.
pub(super) fn distinct_answers(
    responses: &[Option<HttpResponse>],
    exchanges: &[Exchange],
) -> Vec<Exchange> {
    let key = |r: &Option<HttpResponse>| -> (u8, String) {
        match r {
            Some(r) if (200..300).contains(&r.status) => {
                let token = r.json().and_then(|b| {
                    b.get("refresh_token")
                        .or(b.get("access_token"))
                        .and_then(|t| t.as_str().map(str::to_string))
                });
                (0, token.unwrap_or_default())
            }
            Some(r) => (
                1,
                format!("{} {}", r.status, expect::error_code(r).unwrap_or_default()),
            ),
            None => (2, String::new()),
        }
    };
    let mut seen: Vec<((u8, String), &Exchange)> = Vec::new();
    for (r, x) in responses.iter().zip(exchanges) {
        let k = key(r);
        if !seen.iter().any(|(s, _)| *s == k) {
            seen.push((k, x));
        }
    }
    seen.sort_by_key(|(k, _)| k.0);
    seen.into_iter().take(8).map(|(_, x)| x.clone()).collect()
}
