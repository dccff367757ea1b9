//! Tiny Lambda function used by the LocalStack smoke test.
//!
//! - plain events are echoed back;
//! - API Gateway proxy events get a proxy response;
//! - SQS and EventBridge events are recorded as S3 objects in `$SMOKE_BUCKET`
//!   (plain HTTP against `$AWS_ENDPOINT_URL`, LocalStack does not check signatures);
//! - `{"sleep_ms": N}` sleeps (timeout check), `{"fail": "msg"}` returns an error.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

fn put_object(key: &str, body: &str) -> Result<(), Error> {
    let bucket = std::env::var("SMOKE_BUCKET").map_err(|_| "SMOKE_BUCKET not set")?;
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let url = format!("{}/{}/{}", endpoint.trim_end_matches('/'), bucket, key);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20250101/{region}/s3/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    ureq::put(&url)
        .header("Authorization", &auth)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .send(body)?;
    Ok(())
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();

    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        for record in records {
            if record.get("eventSource").and_then(Value::as_str) == Some("aws:sqs") {
                let id = record["messageId"].as_str().unwrap_or("unknown");
                let body = record["body"].as_str().unwrap_or("");
                println!("smoke: sqs message {id}: {body}");
                put_object(&format!("sqs/{id}"), body)?;
            }
        }
        return Ok(json!({ "batchItemFailures": [] }));
    }

    if payload.get("source").and_then(Value::as_str) == Some("aws.events") {
        let id = payload["id"].as_str().unwrap_or("unknown");
        println!("smoke: eventbridge event {id}");
        put_object(&format!("events/{id}"), &payload.to_string())?;
        return Ok(json!({ "ok": true }));
    }

    if let Some(method) = payload.get("httpMethod").and_then(Value::as_str) {
        println!("smoke: api gateway {method} {}", payload["path"]);
        let body = json!({
            "method": method,
            "path": payload["path"],
            "query": payload["queryStringParameters"],
            "body": payload["body"],
            "function": function,
        });
        return Ok(json!({
            "statusCode": 200,
            "headers": { "content-type": "application/json", "x-smoke": "1" },
            "body": body.to_string(),
        }));
    }

    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if let Some(msg) = payload.get("fail").and_then(Value::as_str) {
        return Err(msg.to_string().into());
    }

    println!("smoke: echo request {}", ctx.request_id);
    Ok(json!({
        "echo": payload,
        "function": function,
        "request_id": ctx.request_id,
        "task_root": std::env::var("LAMBDA_TASK_ROOT").unwrap_or_default(),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
