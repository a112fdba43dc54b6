//! One text form of a redacted exchange, shared by the JUnit, Markdown and
//! terminal renderers, in the style of `curl -v`: request lines start with
//! `> `, response lines with `< `, bodies included, so direction stays clear
//! however the block is indented or wrapped.

use crate::check::result::Exchange;

/// The exchange as lines without a trailing newline.
pub(crate) fn render(e: &Exchange) -> String {
    let mut lines = Vec::new();
    let req = &e.request;
    lines.push(format!("> {} {}", req.method, req.url));
    for (name, value) in &req.headers {
        lines.push(format!("> {name}: {value}"));
    }
    if let Some(body) = req.body.as_deref().filter(|b| !b.is_empty()) {
        lines.push(">".to_owned());
        lines.extend(body.lines().map(|l| format!("> {l}")));
    }
    match &e.response {
        None => lines.push("< (no response)".to_owned()),
        Some(resp) => {
            lines.push(format!("< {} ({} ms)", resp.status, resp.elapsed_ms));
            for (name, value) in &resp.headers {
                lines.push(format!("< {name}: {value}"));
            }
            if !resp.body.is_empty() {
                lines.push("<".to_owned());
                lines.extend(resp.body.lines().map(|l| format!("< {l}")));
            }
            if resp.truncated {
                lines.push("< … (body truncated)".to_owned());
            }
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn request_and_response_lines_are_marked_by_direction() {
        let text = render(&fixture::old_token_exchange());
        assert_eq!(
            text,
            "> POST https://auth.example.test/oauth2/token\n\
             > Authorization: Basic cred#fba2da\n\
             > Content-Type: application/x-www-form-urlencoded\n\
             >\n\
             > grant_type=refresh_token&refresh_token=rt%233f9a1c\n\
             < 200 (41 ms)\n\
             < content-type: application/json\n\
             < cache-control: no-store\n\
             <\n\
             < {\n\
             <   \"access_token\": \"at#ea54da\",\n\
             <   \"refresh_token\": \"rt#93a89b\",\n\
             <   \"token_type\": \"Bearer\"\n\
             < }"
        );
    }

    #[test]
    fn a_missing_response_is_said() {
        let mut e = fixture::old_token_exchange();
        e.response = None;
        assert!(render(&e).ends_with("\n< (no response)"));
    }
}
