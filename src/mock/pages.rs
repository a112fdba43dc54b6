//! The login and consent pages, shaped after each vendor profile so that
//! the headless login's recipe meets more than one shape: field names,
//! hidden fields, buttons and the consent step differ as they do on the
//! real products (EmpowerID's ASP.NET form with its anti-forgery token,
//! IDCS's sign-in without consent for trusted apps, WSO2's
//! `sessionDataKey` and its approve/deny consent).

use super::config::Profile;
use super::paths::Paths;

/// The anti-forgery value: a hidden field matched against a cookie.
pub const CSRF_FIELD: &str = "__RequestVerificationToken";
pub const CSRF_COOKIE: &str = "__tp_csrf";

/// The hidden field that names the interaction.
pub fn interaction_field(p: Profile) -> &'static str {
    match p {
        Profile::Strict => "interaction",
        Profile::EmpowerId => "ReturnId",
        Profile::Idcs => "OCIS_REQ_SP",
        Profile::Wso2 => "sessionDataKey",
    }
}

/// (username field, password field) of the login form.
pub fn credential_fields(p: Profile) -> (&'static str, &'static str) {
    match p {
        Profile::Strict => ("username", "password"),
        Profile::EmpowerId => ("UserName", "Password"),
        Profile::Idcs => ("userid", "password"),
        Profile::Wso2 => ("usernameUserInput", "password"),
    }
}

use crate::markup::escape as esc;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        esc(title)
    )
}

/// An error page (never a redirect: the client may not be who it says).
pub fn error(p: Profile, message: &str) -> String {
    page(
        &format!("{} error", product(p)),
        &format!("<h1>Error</h1><p class=\"error\">{}</p>", esc(message)),
    )
}

fn product(p: Profile) -> &'static str {
    match p {
        Profile::Strict => "tokenprobe mock",
        Profile::EmpowerId => "EmpowerID",
        Profile::Idcs => "Oracle Identity Cloud Service",
        Profile::Wso2 => "WSO2 Identity Server",
    }
}

/// The login page, with `problem` shown when the last attempt failed.
pub fn login(
    p: Profile,
    paths: &Paths,
    interaction: &str,
    csrf: &str,
    problem: Option<&str>,
) -> String {
    let (user, pass) = credential_fields(p);
    let id = esc(interaction);
    let csrf = esc(csrf);
    let problem = problem
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let field = interaction_field(p);
    let body = match p {
        Profile::Strict => format!(
            "<h1>Sign in</h1>{problem}<form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <label>Username <input type=\"text\" name=\"{user}\" autocomplete=\"username\"></label>\
             <label>Password <input type=\"password\" name=\"{pass}\"></label>\
             <button type=\"submit\">Sign in</button></form>",
            action = paths.login
        ),
        Profile::EmpowerId => format!(
            "<div class=\"login-box\"><h2>Log in to EmpowerID</h2>{problem}\
             <form action=\"{action}?{field}={id}\" method=\"post\" id=\"loginForm\">\
             <input name=\"{CSRF_FIELD}\" type=\"hidden\" value=\"{csrf}\">\
             <input name=\"{field}\" type=\"hidden\" value=\"{id}\">\
             <div class=\"form-group\"><label for=\"UserName\">User name</label>\
             <input class=\"form-control\" id=\"UserName\" name=\"{user}\" type=\"text\" value=\"\"></div>\
             <div class=\"form-group\"><label for=\"Password\">Password</label>\
             <input class=\"form-control\" id=\"Password\" name=\"{pass}\" type=\"password\"></div>\
             <div class=\"checkbox\"><label><input name=\"RememberMe\" type=\"checkbox\" value=\"true\"> Remember me</label></div>\
             <input type=\"submit\" value=\"Log In\" class=\"btn btn-primary\">\
             <a href=\"#\">Forgot your password?</a></form></div>",
            action = paths.login
        ),
        Profile::Idcs => format!(
            "<main><h1>Oracle Cloud Account Sign In</h1>{problem}\
             <form name=\"signin\" method=\"POST\" action=\"{action}\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <input type=\"email\" name=\"{user}\" placeholder=\"User Name\" aria-label=\"User Name\">\
             <input type=\"password\" name=\"{pass}\" placeholder=\"Password\" aria-label=\"Password\">\
             <button type=\"button\" id=\"help\">Need help signing in?</button>\
             <button type=\"submit\" name=\"signin\" value=\"true\">Sign In</button></form></main>",
            action = paths.login
        ),
        Profile::Wso2 => format!(
            "<div class=\"ui segment\"><h3>Sign In</h3>{problem}\
             <form action=\"..{action}\" method=\"post\" id=\"loginForm\">\
             <input id=\"usernameUserInput\" type=\"text\" name=\"{user}\" tabindex=\"1\" placeholder=\"Username\">\
             <input type=\"password\" id=\"password\" name=\"{pass}\" tabindex=\"2\" placeholder=\"Password\" autocomplete=\"off\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <input type=\"checkbox\" id=\"chkRemember\" name=\"chkRemember\"><label for=\"chkRemember\">Remember me on this computer</label>\
             <input type=\"submit\" class=\"ui primary button\" value=\"Continue\" tabindex=\"4\"></form></div>",
            action = paths.login
        ),
    };
    page(&format!("{} sign in", product(p)), &body)
}

/// The first page of an identifier-first login: the username alone.
pub fn identifier(
    paths: &Paths,
    p: Profile,
    interaction: &str,
    csrf: &str,
    problem: Option<&str>,
) -> String {
    let (user, _) = credential_fields(p);
    let field = interaction_field(p);
    let body = format!(
        "<h1>Sign in</h1>{problem}<form method=\"post\" action=\"{action}\" id=\"identify\">\
         <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
         <label>Email or username <input type=\"text\" name=\"{user}\" autocomplete=\"username\"></label>\
         <button type=\"submit\" name=\"step\" value=\"identify\">Next</button></form>",
        problem = alert(problem),
        action = paths.login,
        id = esc(interaction),
        csrf = esc(csrf),
    );
    page(&format!("{} sign in", product(p)), &body)
}

/// The second page of an identifier-first login: the password for the
/// username the first one took (shown, not asked again).
pub fn password(
    paths: &Paths,
    p: Profile,
    interaction: &str,
    csrf: &str,
    username: &str,
    problem: Option<&str>,
) -> String {
    let (_, pass) = credential_fields(p);
    let field = interaction_field(p);
    let body = format!(
        "<h1>Enter your password</h1><p>Signing in as <b>{who}</b></p>{problem}\
         <form method=\"post\" action=\"{action}\" id=\"password\">\
         <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
         <label>Password <input type=\"password\" name=\"{pass}\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Sign in</button></form>",
        who = esc(username),
        problem = alert(problem),
        action = paths.login,
        id = esc(interaction),
        csrf = esc(csrf),
    );
    page(&format!("{} sign in", product(p)), &body)
}

/// The one-time-code page (MFA) after the password.
pub fn mfa(
    paths: &Paths,
    p: Profile,
    interaction: &str,
    csrf: &str,
    problem: Option<&str>,
) -> String {
    let field = interaction_field(p);
    let body = format!(
        "<h1>Two-step verification</h1><p>Enter the code from your authenticator app.</p>{problem}\
         <form method=\"post\" action=\"{action}\" id=\"mfa\">\
         <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
         <label>Code <input type=\"text\" name=\"otp\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\
         <button type=\"submit\" name=\"action\" value=\"verify\">Verify</button></form>",
        problem = alert(problem),
        action = paths.mfa,
        id = esc(interaction),
        csrf = esc(csrf),
    );
    page(&format!("{} verification", product(p)), &body)
}

/// `page` with unrelated forms at its top, as portals have them: a search
/// box and a language selector.
pub fn with_extra_forms(page: String) -> String {
    const EXTRA: &str = "<header><form action=\"/search\" method=\"get\" id=\"search\">\
         <input type=\"search\" name=\"q\" placeholder=\"Search help\"><button type=\"submit\">Search</button></form>\
         <form action=\"/lang\" method=\"post\" id=\"lang\"><select name=\"lang\">\
         <option value=\"en\" selected>English</option><option value=\"fr\">Français</option></select>\
         <button type=\"submit\">Change language</button></form></header>";
    page.replacen("<body>", &format!("<body>{EXTRA}"), 1)
}

fn alert(problem: Option<&str>) -> String {
    problem
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default()
}

/// The consent page.
pub fn consent(
    p: Profile,
    paths: &Paths,
    interaction: &str,
    csrf: &str,
    client: &str,
    scope: &str,
) -> String {
    let id = esc(interaction);
    let csrf = esc(csrf);
    let field = interaction_field(p);
    let asks = format!("<p><b>{}</b> asks for: {}</p>", esc(client), esc(scope));
    let body = match p {
        Profile::EmpowerId => format!(
            "<h2>Authorize application</h2>{asks}<form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
             <button type=\"submit\" name=\"action\" value=\"grant\">Grant Access</button></form>",
            action = paths.consent
        ),
        Profile::Wso2 => format!(
            "<h3>Consent</h3>{asks}<form action=\"{action}\" method=\"post\" id=\"profile\" name=\"profile\">\
             <input type=\"hidden\" name=\"sessionDataKeyConsent\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <input type=\"checkbox\" name=\"rememberApproval\" id=\"rememberApproval\"><label for=\"rememberApproval\">Remember my consent</label>\
             <input type=\"submit\" class=\"ui button\" name=\"consent\" value=\"deny\">\
             <input type=\"submit\" class=\"ui primary button\" name=\"consent\" value=\"approve\"></form>",
            action = paths.consent
        ),
        _ => format!(
            "<h1>Allow access?</h1>{asks}<form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"{field}\" value=\"{id}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{csrf}\">\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></form>",
            action = paths.consent
        ),
    };
    page(&format!("{} consent", product(p)), &body)
}

/// Whether the consent form's answer approves.
pub fn approved(p: Profile, fields: &[(String, String)]) -> bool {
    let (name, yes) = match p {
        Profile::EmpowerId => ("action", "grant"),
        Profile::Wso2 => ("consent", "approve"),
        _ => ("decision", "allow"),
    };
    fields.iter().any(|(k, v)| k == name && v == yes)
}
