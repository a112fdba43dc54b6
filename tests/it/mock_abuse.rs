//! The mock under abuse: slow clients holding connections, garbage bytes,
//! oversized headers, 400 clients at once (each on its own connection;
//! kept under a 1024-descriptor limit, server side included). Well-behaved clients are
//! still served, nothing yields a 5xx, and every abusive connection ends.

use crate::mock_support;

use mock_support::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes` on a fresh connection and reads what comes back (bounded
/// by a timeout: the server must answer or close).
async fn raw(m: &Mock, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(m.server.local_addr()).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> Option<u16> {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn slow_clients_do_not_starve_well_behaved_ones() {
    let m = strict().await;
    // 500 connections that send half a request line and then nothing.
    let mut idle = Vec::new();
    for _ in 0..500 {
        let mut s = TcpStream::connect(m.server.local_addr()).await.unwrap();
        s.write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Le")
            .await
            .unwrap();
        idle.push(s);
    }
    let r = m.login(None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rt = r.str("refresh_token");
    let r = m.refresh(("app", "app-secret"), &rt, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    drop(idle);
}

#[tokio::test]
async fn garbage_bytes_get_a_4xx_or_a_close_never_a_5xx() {
    let m = strict().await;
    let cases: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n".to_vec(),
        b"GARBAGE / HTTP/9.9\r\n\r\n".to_vec(),
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
        b"POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS hello on plain HTTP
    ];
    for bytes in cases {
        let answer = raw(&m, &bytes).await;
        if let Some(status) = status_of(&answer) {
            assert!(
                (400..500).contains(&status),
                "{:?} → {answer}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    assert_eq!(m.login(None).await.status, 200);
}

#[tokio::test]
async fn oversized_headers_are_refused_with_a_4xx() {
    let m = strict().await;
    let mut req = b"POST /token HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 1 << 20));
    req.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let answer = raw(&m, &req).await;
    if let Some(status) = status_of(&answer) {
        assert!(
            (400..500).contains(&status),
            "{}",
            &answer[..answer.len().min(200)]
        );
    }
    assert_eq!(m.login(None).await.status, 200);
}

#[tokio::test]
async fn four_hundred_clients_at_once_get_answers_and_no_5xx() {
    let m = strict().await;
    let login = m.login(None).await;
    let rt = login.str("refresh_token");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let http = client();
        let url = m.url("/token");
        let body = if i % 2 == 0 {
            "grant_type=password&username=alice&password=alice-pass-1".to_string()
        } else {
            format!(
                "grant_type=refresh_token&refresh_token={}",
                form_encode(&rt)
            )
        };
        tasks.spawn(async move {
            http.post(url)
                .header("Authorization", basic("app", "app-secret"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut ok = 0;
    let mut statuses = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let status = r.unwrap().expect("every client gets an answer");
        assert!(status < 500, "{status}");
        if status == 200 {
            ok += 1;
        }
        statuses.push(status);
    }
    // Every password grant succeeds; of 200 refreshes of one token, one wins.
    assert_eq!(ok, 200 + 1, "{statuses:?}");
}

/// A client that opens a TLS connection and never sends its handshake does
/// not hold up shutdown (it used to wait for it forever: Ctrl-C on
/// `mock --tls` hung).
#[tokio::test]
async fn a_silent_tls_client_does_not_hold_up_shutdown() {
    let mut cfg = tokenprobe::mock::MockConfig::strict();
    cfg.tls = true;
    let server = tokenprobe::mock::MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let silent = TcpStream::connect(server.local_addr()).await.unwrap();
    // The connection is accepted before shutdown begins.
    tokio::task::yield_now().await;
    let stopped = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "shutdown waited for a handshake that never comes"
    );
    drop(silent);
}
