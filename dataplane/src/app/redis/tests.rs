//! The Redis analyzer through the whole application layer: commands and
//! replies on byte arrays, cut at every split point, pipelined, pushed,
//! silenced, hostile.

use serde_json::Value;

use crate::app::tests::{of, Conv};
use crate::app::AppConfig;

/// `*N` of bulk strings: a command as clients send it.
fn cmd(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    v
}

fn run(c: &Conv) -> Vec<Value> {
    of(&c.run_with(AppConfig::sized(4 << 20)), "redis")
}

/// A record without its times.
fn timeless(r: &Value) -> Value {
    let mut r = r.clone();
    for k in [
        "ts",
        "latency_us",
        "src_net_delay_avg_us",
        "dst_net_delay_avg_us",
    ] {
        r.as_object_mut().unwrap().remove(k);
    }
    r
}

#[test]
fn pipelined_commands_pair_in_order_at_every_split_point() {
    let mut req = cmd(&["SET", "k", "v1"]);
    req.extend(cmd(&["GET", "k"]));
    req.extend(b"PING\r\n");
    req.extend(cmd(&["LRANGE", "l", "0", "-1"]));
    req.extend(cmd(&["NOSUCH"]));
    // OK, a bulk, PONG, an array of two (one null inside), an error.
    let resp: &[u8] =
        b"+OK\r\n$2\r\nv1\r\n+PONG\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR unknown command 'NOSUCH'\r\n";
    let whole = {
        let mut c = Conv::tcp(5000, 6379);
        c.segment(0, &req).segment(1, resp).close();
        run(&c)
    };
    assert_eq!(whole.len(), 5, "{whole:#?}");
    let f = |i: usize, k: &str| whole[i][k].clone();
    assert_eq!((f(0, "command"), f(0, "key")), ("SET".into(), "k".into()));
    assert_eq!(f(0, "args"), serde_json::json!(["k", "v1"]));
    assert_eq!(
        (f(0, "reply_type"), f(0, "reply")),
        ("simple_string".into(), "OK".into())
    );
    assert_eq!(
        (f(1, "reply_type"), f(1, "reply")),
        ("bulk_string".into(), "v1".into())
    );
    assert_eq!(
        (f(2, "command"), f(2, "inline")),
        ("PING".into(), true.into())
    );
    assert_eq!(
        (f(3, "reply_len"), f(3, "reply")),
        (2.into(), "[a, null]".into())
    );
    assert_eq!(f(4, "error"), "ERR unknown command 'NOSUCH'");
    assert_eq!(f(4, "success"), false);
    for cut in 1..req.len() {
        let mut c = Conv::tcp(5000, 6379);
        c.send(0, &req, &[cut]).segment(1, resp).close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        let want: Vec<Value> = whole.iter().map(timeless).collect();
        assert_eq!(got, want, "request cut at {cut}");
    }
    for cut in 1..resp.len() {
        let mut c = Conv::tcp(5000, 6379);
        c.segment(0, &req).send(1, resp, &[cut]).close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        let want: Vec<Value> = whole.iter().map(timeless).collect();
        assert_eq!(got, want, "response cut at {cut}");
    }
}

#[test]
fn resp3_types_and_a_push_between_replies() {
    let mut req = cmd(&["HELLO", "3"]);
    req.extend(cmd(&["HGETALL", "h"]));
    req.extend(cmd(&["ZSCORE", "z", "m"]));
    req.extend(cmd(&["DEBUG", "PROTOCOL", "attrib"]));
    req.extend(cmd(&["GET", "missing"]));
    let resp: &[u8] = b"%1\r\n+server\r\n+redis\r\n\
        >2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n\
        %1\r\n$1\r\nf\r\n$1\r\nv\r\n\
        ,1.5\r\n\
        |1\r\n+key-popularity\r\n:7\r\n$4\r\nattr\r\n\
        _\r\n";
    let mut c = Conv::tcp(5001, 6379);
    c.segment(0, &req).segment(1, resp).close();
    let r = run(&c);
    assert_eq!(r.len(), 6, "{r:#?}");
    assert_eq!(r[0]["reply_type"], "map");
    assert_eq!(r[0]["resp"], 2, "HELLO itself is sent in RESP2");
    assert_eq!(r[1]["push"], "invalidate");
    assert_eq!(r[1]["reply"], "[invalidate, [k]]");
    assert_eq!(
        (r[2]["command"].clone(), r[2]["reply_type"].clone()),
        ("HGETALL".into(), "map".into())
    );
    assert_eq!(r[2]["reply"], "[f, v]");
    assert_eq!(r[2]["resp"], 3);
    assert_eq!(
        (r[3]["reply_type"].clone(), r[3]["reply"].clone()),
        ("double".into(), "1.5".into())
    );
    assert_eq!(
        (r[4]["reply"].clone(), r[4]["attribute"].clone()),
        ("attr".into(), true.into())
    );
    assert_eq!(
        (r[5]["command"].clone(), r[5]["reply_type"].clone()),
        ("GET".into(), "null".into())
    );
}

#[test]
fn multi_exec_subscribe_and_client_reply() {
    let mut req = cmd(&["MULTI"]);
    req.extend(cmd(&["INCR", "n"]));
    req.extend(cmd(&["EXEC"]));
    req.extend(cmd(&["CLIENT", "REPLY", "SKIP"]));
    req.extend(cmd(&["SET", "quiet", "1"]));
    req.extend(cmd(&["SUBSCRIBE", "a", "b"]));
    req.extend(cmd(&["PING"]));
    req.extend(cmd(&["UNSUBSCRIBE"]));
    let resp: &[u8] = b"+OK\r\n+QUEUED\r\n*1\r\n:1\r\n\
        *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
        *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
        *3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n\
        *2\r\n$4\r\npong\r\n$0\r\n\r\n\
        *3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n\
        *3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n";
    let mut c = Conv::tcp(5002, 6379);
    c.segment(0, &req).segment(1, resp).close();
    let r = run(&c);
    let by = |name: &str| -> Vec<&Value> { r.iter().filter(|x| x["command"] == name).collect() };
    assert_eq!(by("INCR")[0]["queued"], true);
    assert_eq!(by("EXEC")[0]["reply_len"], 1);
    assert_eq!(by("CLIENT")[0]["no_reply"], true);
    assert_eq!(by("SET")[0]["no_reply"], true);
    let sub = by("SUBSCRIBE");
    assert_eq!(
        (sub.len(), sub[0]["reply"].clone()),
        (1, "[subscribe, a, 1]".into())
    );
    let push: Vec<&Value> = r.iter().filter(|x| x["push"] == "message").collect();
    assert_eq!(
        (push.len(), push[0]["payload"].clone()),
        (1, "hello".into())
    );
    assert_eq!(by("PING")[0]["reply"], "[pong, ]");
    let unsub = by("UNSUBSCRIBE");
    assert_eq!(unsub.len(), 1);
    assert!(unsub[0].get("unanswered").is_none(), "{:?}", unsub[0]);
    assert_eq!(r.len(), 9, "{r:#?}");
}

#[test]
fn credentials_are_redacted() {
    let mut req = cmd(&["AUTH", "alice", "s3cret"]);
    req.extend(cmd(&[
        "HELLO", "3", "AUTH", "bob", "hunter2", "SETNAME", "app",
    ]));
    req.extend(cmd(&["CONFIG", "SET", "requirepass", "topsecret"]));
    req.extend(b"AUTH inline-secret\r\n");
    let resp: &[u8] = b"+OK\r\n%0\r\n+OK\r\n+OK\r\n";
    let mut c = Conv::tcp(5003, 6379);
    c.segment(0, &req).segment(1, resp).close();
    let r = run(&c);
    let text = serde_json::to_string(&r).unwrap();
    for secret in ["s3cret", "hunter2", "topsecret", "inline-secret", "alice"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        r[1]["args"],
        serde_json::json!(["3", "AUTH", "bob", "[redacted]", "SETNAME", "app"])
    );
    let mut a = AppConfig::sized(4 << 20);
    a.protos.redis.limits.redact = false;
    let plain = of(&c.run_with(a), "redis");
    assert_eq!(plain[0]["args"], serde_json::json!(["alice", "s3cret"]));
}

/// A bulk string announced at 2^31 bytes, a reply of 10^6 elements and
/// 1,000 nested arrays: nothing is sized from them, the buffers go back,
/// what cannot be read is counted.
#[test]
fn hostile_lengths_counts_and_depths() {
    let mut req = cmd(&["SET", "big", "x"]);
    // The value's length says 2^31; 8 KiB of it follow, then the flow ends.
    req.truncate(req.len() - 7);
    req.extend(b"$2147483648\r\n");
    req.extend(vec![b'v'; 8192]);
    let mut c = Conv::tcp(5004, 6379);
    c.segment(0, &req).close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["args_truncated"], true);
    assert_eq!(r[0]["unanswered"], true);

    let mut req = cmd(&["LRANGE", "l", "0", "-1"]);
    req.extend(cmd(&["PING"]));
    let mut resp = b"*1000000\r\n".to_vec();
    for _ in 0..1_000_000 {
        resp.extend(b":1\r\n");
    }
    resp.extend(b"+PONG\r\n");
    let mut c = Conv::tcp(5005, 6379);
    c.segment(0, &req)
        .send(1, &resp, &[1400, 70_000, 2_000_000])
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[0]["reply_len"], 1_000_000);
    assert_eq!(r[0]["reply_truncated"], true);
    assert_eq!(r[1]["reply"], "PONG");

    let mut resp = Vec::new();
    for _ in 0..1000 {
        resp.extend(b"*1\r\n");
    }
    resp.extend(b":1\r\n");
    let mut c = Conv::tcp(5006, 6379);
    c.segment(0, &cmd(&["GET", "deep"]))
        .segment(1, &resp)
        .close();
    let mut w = crate::worker::Worker::new(crate::worker::WorkerConfig {
        flows: 64,
        huge_pages: false,
        app: AppConfig::sized(4 << 20),
        ..Default::default()
    })
    .unwrap();
    let r = c.run_on(&mut w);
    let st = w.app_stats();
    let redis = st.proto(crate::app::Proto::Redis);
    assert_eq!(redis.extra[super::STOPPED], 1, "{st:?}");
    let recs = of(&r, "redis");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["unanswered"], true);
}

/// Lookalikes on Redis's port are not logged; on other ports only a framed
/// command of a known name is Redis.
#[test]
fn probing() {
    let mut http = Conv::tcp(5007, 6379);
    http.segment(0, b"\x16\x03\x01\x00\x05hello")
        .segment(1, b"+OK\r\n");
    assert!(run(&http).is_empty());
    let mut off = Conv::tcp(5008, 7000);
    off.segment(0, &cmd(&["GET", "k"]))
        .segment(1, b"$1\r\nv\r\n");
    assert_eq!(run(&off).len(), 1);
    let mut inline_off = Conv::tcp(5009, 7001);
    inline_off
        .segment(0, b"GET k\r\n")
        .segment(1, b"$1\r\nv\r\n");
    assert!(run(&inline_off).is_empty());
}

/// What review found: a subscribe refused by one error, an ordinary
/// reply shaped like a confirmation, a gap inside a reply, CONFIG GET's
/// passwords, a MONITOR stream.
#[test]
fn pairing_survives_errors_lookalikes_gaps_and_streams() {
    // SSUBSCRIBE a b answered by one -MOVED: the next command's reply is
    // its own.
    let mut req = cmd(&["SSUBSCRIBE", "a", "b"]);
    req.extend(cmd(&["GET", "k"]));
    // LRANGE whose elements look like a confirmation, then a message-
    // shaped one: ordinary replies while not subscribed.
    req.extend(cmd(&["LRANGE", "l", "0", "-1"]));
    req.extend(cmd(&["CONFIG", "GET", "requirepass"]));
    let resp: &[u8] = b"-MOVED 1 10.0.0.1:6379\r\n$1\r\nv\r\n\
        *3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:5\r\n\
        *2\r\n$11\r\nrequirepass\r\n$6\r\nsecret\r\n";
    let mut c = Conv::tcp(5100, 6379);
    c.segment(0, &req).segment(1, resp).close();
    let r = run(&c);
    assert_eq!(r.len(), 4, "{r:#?}");
    assert_eq!(r[0]["error"], "MOVED 1 10.0.0.1:6379");
    assert_eq!(
        (r[1]["command"].clone(), r[1]["reply"].clone()),
        ("GET".into(), "v".into())
    );
    assert_eq!(r[2]["reply_len"], 3);
    assert_eq!(r[3]["reply"], "[redacted]");
    assert!(!serde_json::to_string(&r).unwrap().contains("secret"));

    // A gap inside a long reply: the commands after it pair again.
    let mut c = Conv::tcp(5101, 6379);
    let big = format!("${}\r\n{}\r\n", 3000, "x".repeat(3000));
    c.segment(0, &cmd(&["GET", "big"]))
        .segment(1, &big.as_bytes()[..1000])
        .lose(1, 1000)
        .segment(1, &big.as_bytes()[2000..])
        .segment(0, &cmd(&["PING"]))
        .segment(1, b"+PONG\r\n")
        .close();
    let r = run(&c);
    assert_eq!(r[0]["unanswered_reason"], "gap", "{r:#?}");
    let ping = r
        .iter()
        .find(|x| x["command"] == "PING")
        .expect("PING logged");
    assert_eq!(ping["reply"], "PONG");
    assert!(
        r.iter().all(|x| x.get("command_missing").is_none()),
        "{r:#?}"
    );

    // MONITOR: logged, then the stream is not read as replies.
    let mut c = Conv::tcp(5102, 6379);
    c.segment(0, &cmd(&["MONITOR"]))
        .segment(1, b"+OK\r\n+1700000000.0 [0 127.0.0.1:1] \"GET\" \"k\"\r\n")
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["command"], "MONITOR");
}

/// Found by the fuzz target: a flow whose analysis stops while a
/// direction holds bytes gives its stream buffer back.
#[test]
fn a_stopped_flow_gives_its_buffers_back() {
    let mut c = Conv::tcp(5103, 6379);
    c.segment(0, b"AUTH noone password\r\nPING\r\n\r")
        .segment(
            1,
            b"+OK\r\n+OK\r\nnot RESP\r\nStill not RESP\r\nNope\r\n\r\n",
        )
        .close();
    // run() asserts that every buffer is back in its pool.
    let r = run(&c);
    assert!(r.iter().all(|x| x["type"] == "redis"));
}

/// A mirror delivers a reply before its command: the reply is logged
/// without it, the command times out unanswered, and the next command's
/// reply is still its own.
#[test]
fn a_reply_before_its_command_does_not_shift_the_pairing() {
    let mut c = Conv::tcp(5104, 6379);
    c.segment(1, b"+OK\r\n")
        .segment(0, &cmd(&["SET", "k", "v"]))
        .wait(31_000_000_000)
        .segment(0, &cmd(&["GET", "k"]))
        .segment(1, b"$1\r\nv\r\n")
        .close();
    let r = run(&c);
    let get = r
        .iter()
        .find(|x| x["command"] == "GET")
        .expect("GET logged");
    assert_eq!(get["reply"], "v", "{r:#?}");
    let set = r
        .iter()
        .find(|x| x["command"] == "SET")
        .expect("SET logged");
    assert_eq!(set["unanswered_reason"], "timeout", "{r:#?}");
}

/// A capture that begins while the connection is subscribed sees only
/// pushed messages: they are pushes, and a command after them still pairs.
#[test]
fn messages_of_a_subscription_begun_before_the_capture_are_pushes() {
    let resp: &[u8] = b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n\
        *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$2\r\nnx\r\n$3\r\nyou\r\n";
    let mut c = Conv::tcp(5003, 6379);
    c.segment(1, resp)
        .segment(0, &cmd(&["PING"]))
        .segment(1, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .close();
    let r = run(&c);
    let pushes: Vec<(&Value, &Value)> = r
        .iter()
        .filter(|x| x.get("push").is_some())
        .map(|x| (&x["push"], &x["payload"]))
        .collect();
    assert_eq!(
        pushes,
        [
            (&"message".into(), &"hi".into()),
            (&"pmessage".into(), &"you".into())
        ],
        "{r:#?}"
    );
    let ping: Vec<&Value> = r.iter().filter(|x| x["command"] == "PING").collect();
    assert_eq!(ping.len(), 1, "{r:#?}");
    assert_eq!(ping[0]["reply"], "[pong, ]");
    assert_eq!(r.len(), 3, "{r:#?}");
}

/// Shard channels are counted apart: unsubscribing the last of them
/// leaves the connection subscribed to its channels.
#[test]
fn sunsubscribe_leaves_channel_subscriptions_be() {
    let mut req = cmd(&["SUBSCRIBE", "a"]);
    req.extend(cmd(&["SSUBSCRIBE", "s"]));
    req.extend(cmd(&["SUNSUBSCRIBE", "s"]));
    let resp: &[u8] = b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
        *3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n\
        *3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n\
        *3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nstill\r\n";
    let mut c = Conv::tcp(5004, 6379);
    c.segment(0, &req)
        .segment(1, resp)
        .segment(0, &cmd(&["PING"]))
        .segment(1, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .close();
    let r = run(&c);
    let push: Vec<&Value> = r.iter().filter(|x| x["push"] == "message").collect();
    assert_eq!(push.len(), 1, "{r:#?}");
    assert_eq!(push[0]["payload"], "still");
    let by = |name: &str| -> Vec<&Value> { r.iter().filter(|x| x["command"] == name).collect() };
    assert_eq!(by("SUNSUBSCRIBE")[0]["reply"], "[sunsubscribe, s, 0]");
    assert_eq!(by("PING")[0]["reply"], "[pong, ]", "{r:#?}");
    assert_eq!(r.len(), 5, "{r:#?}");
}
