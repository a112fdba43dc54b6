//! One definition, shared by `check`'s races and `load`'s probes, of what a
//! server may answer when a refresh token that already bought a successor
//! is presented again (a raced copy, a replay, a retried request).
//!
//! - a refusal: what rotation asks for (RFC 9700 §4.14.2);
//! - **the same successor** handed out again: an idempotent answer, kind
//!   to a client that retries a request whose answer it lost. No new token
//!   was issued, nothing lives that should not: allowed, declared or not;
//! - **a new successor**: the old token bought a second chain. Allowed only
//!   where the target declares a grace period that hands out new pairs
//!   (`grace_returns: new`); otherwise the defect (CC-RACE, ROT-OLD,
//!   `replay_accepted` under load).
//!
//! May use: nothing else of the crate.

/// What a second presentation of a refresh token got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    Refused,
    /// The successor already issued (or, without rotation, no successor
    /// at all: the token handed back as it was).
    SameSuccessor,
    /// Another successor than the one already issued.
    NewSuccessor,
}

/// How the second presentation was answered: `successor` is the refresh
/// token the first use got (`None` when it got none), `answer` the
/// refresh token of a successful answer (`Ok(None)`: success without
/// one), or `Err(())` for a refusal.
pub fn classify(successor: Option<&str>, answer: Result<Option<&str>, ()>) -> Again {
    match answer {
        Err(()) => Again::Refused,
        Ok(Some(t)) if Some(t) != successor => Again::NewSuccessor,
        Ok(_) => Again::SameSuccessor,
    }
}

/// How many successors a set of successful answers handed out: one value
/// handed out several times counts once (idempotent answers); an answer
/// without one counts as its own.
pub fn successors<'a>(answers: impl IntoIterator<Item = Option<&'a str>>) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut without = 0;
    for a in answers {
        match a {
            Some(t) if !seen.contains(&t) => seen.push(t),
            Some(_) => {}
            None => without += 1,
        }
    }
    seen.len() + without
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_successor_is_one_and_allowed() {
        assert_eq!(classify(Some("r2"), Ok(Some("r2"))), Again::SameSuccessor);
        assert_eq!(classify(Some("r2"), Ok(Some("r3"))), Again::NewSuccessor);
        assert_eq!(classify(Some("r2"), Err(())), Again::Refused);
        assert_eq!(successors([Some("a"), Some("a"), Some("a")]), 1);
        assert_eq!(successors([Some("a"), Some("b")]), 2);
        assert_eq!(successors([Some("a"), None, None]), 3);
    }
}
