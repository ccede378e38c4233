//! The container health probe both services run as `<binary> healthcheck`:
//! distroless images have no curl, so the binary checks itself. Plain
//! `std::net`, so neither service needs an HTTP client for it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// The `healthcheck` subcommand of both binaries: success only when the
/// local service answers 200; otherwise says why on stderr, where
/// `docker inspect` shows it.
pub fn healthcheck_command(port: u16) -> ExitCode {
    match healthz(port, Duration::from_secs(3)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            say_unhealthy(&reason);
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stderr, reason = "a one-shot CLI answer, before any logging is set up")]
fn say_unhealthy(reason: &str) {
    eprintln!("unhealthy: {reason}");
}

/// Succeeds only when `GET /healthz` on 127.0.0.1:`port` answers 200 within `timeout`.
pub fn healthz(port: u16, timeout: Duration) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut head = [0u8; 32];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("no answer: {e}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    if status_line.starts_with("HTTP/1.1 200") || status_line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!("unexpected answer: {:?}", status_line.lines().next().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    fn serve_once(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
        });
        port
    }

    #[test]
    fn a_200_is_healthy() {
        let port = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(healthz(port, Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn a_503_is_not_healthy() {
        let port = serve_once("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
        assert!(healthz(port, Duration::from_secs(2)).is_err_and(|e| e.contains("503")));
    }

    #[test]
    fn nothing_listening_is_not_healthy() {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        assert!(healthz(port, Duration::from_secs(2)).is_err());
    }
}
