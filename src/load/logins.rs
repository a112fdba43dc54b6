//! Where sessions come from: the accounts users log in as (the target's
//! primary user, or `--users-file`), refresh tokens issued elsewhere
//! (`--tokens-file`), and the logins other than the password grant (the
//! code flow through the server's pages, a JWT user assertion), prepared
//! up to their token request.

use super::sender::Sender;
use super::stats::Outcome;
use crate::oauth::WireRequest;
use crate::secret::Secret;
use crate::target::Target;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct Accounts {
    list: Vec<(String, Secret)>,
    next: AtomicUsize,
    /// `--tokens-file`: refresh tokens issued elsewhere, each starting one
    /// session; no login is ever sent.
    tokens: Option<Mutex<std::vec::IntoIter<Secret>>>,
}

/// What a session starts from, when it starts anew.
pub(super) enum Start {
    /// Log in as the account.
    Login,
    /// The next refresh token of `--tokens-file`.
    Token(Secret),
    /// `--tokens-file` has none left.
    Exhausted,
}

impl Accounts {
    /// The target's primary user alone.
    pub fn primary(target: &Target) -> Option<Accounts> {
        let user = target.user("primary")?;
        Some(Accounts {
            list: vec![(user.username.clone(), user.password.clone())],
            next: AtomicUsize::new(0),
            tokens: None,
        })
    }

    /// Users log in as these accounts instead (round robin); none keeps
    /// the primary user.
    pub fn replaced_by(mut self, accounts: Vec<(String, Secret)>) -> Accounts {
        if !accounts.is_empty() {
            self.list = accounts;
        }
        self
    }

    /// Sessions start from these refresh tokens (one each, in order).
    pub fn with_tokens(mut self, tokens: Vec<Secret>) -> Accounts {
        self.tokens = Some(Mutex::new(tokens.into_iter()));
        self
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The next user's number (its account is that number's, round robin).
    pub(super) fn take_next(&self) -> usize {
        self.next.fetch_add(1, Relaxed)
    }

    /// The `i`-th user's account.
    pub(super) fn get(&self, i: usize) -> &(String, Secret) {
        &self.list[i % self.list.len()]
    }

    /// How a session that has none starts.
    pub(super) fn start(&self) -> Start {
        let Some(tokens) = &self.tokens else {
            return Start::Login;
        };
        match tokens.lock().unwrap_or_else(|p| p.into_inner()).next() {
            Some(t) => Start::Token(t),
            None => Start::Exhausted,
        }
    }
}

/// A login the target's way other than the password grant, up to its
/// token request: the request to send, or the outcome that ended it
/// first (a refusal by the authorization endpoint, or a page the recipe
/// cannot complete, counts as a refused login; no answer, as a transport
/// failure). `hops`: the pages the server served on the way.
pub(super) struct Prepared {
    pub hops: usize,
    pub request: Result<WireRequest, Outcome>,
}

pub(super) async fn prepare_other(
    target: &Target,
    sender: &Sender,
    account: &(String, Secret),
    slot: usize,
) -> Prepared {
    use crate::oauth::login::{self, Prepared as P, StartError, Who, code::FrontChannelError};
    let who = Who {
        client: &sender.client,
        username: &account.0,
        password: account.1.expose(),
        user_credentials: target.password_grant.user_credentials,
        token_endpoint: &sender.endpoint,
        scope: target.login_scope.as_deref(),
        issuer: target.issuer.as_deref(),
    };
    // A redactor of its own: the hops are dropped with it (load shows
    // none), and one shared by every login would grow with each.
    let redactor = crate::redact::Redactor::new();
    let prepared = login::prepare(
        &target.login,
        &who,
        sender.http_client(slot),
        sender.http.request_timeout,
        &redactor,
    )
    .await;
    let hops = match &prepared {
        Ok(P::Request { front: Some(f), .. }) => f.hops.len(),
        Err(StartError::FrontChannel(e)) => e.hops().len(),
        Err(StartError::Refused { front, .. }) => front.hops.len(),
        _ => 0,
    };
    let request = match prepared {
        Ok(P::Request { wire, .. }) => Ok(wire),
        Ok(P::Response(_)) => Err(Outcome::Transport("login".into())),
        Err(StartError::FrontChannel(FrontChannelError::Transport { error, .. })) => {
            Err(Outcome::Transport(error.class.to_string()))
        }
        Err(StartError::Refused { error, .. }) => Err(Outcome::Status(400, Some(error))),
        Err(_) => Err(Outcome::Status(400, Some("login_failed".into()))),
    };
    Prepared { hops, request }
}
