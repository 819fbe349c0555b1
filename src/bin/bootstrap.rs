//! `bootstrap`: jwas as an AWS Lambda function with an SQS trigger (feature `lambda`).
//! The configuration is read from the environment at cold start ([`jwas::lambda`]); a bad
//! one ends the process with one JSON log line that names the variable. Each invocation's
//! log lines are JSON on standard output carrying its `request_id`, ending with a
//! `jwas::stats` line.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use jwas::lambda::{Function, LambdaConfig, Record};
use lambda_runtime::{service_fn, LambdaEvent};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,aws_config=error,aws_runtime=error,aws_smithy_runtime=error,aws_sdk_s3::http_response_checksum=error,lambda_runtime=warn".into()
            }),
        )
        .init();
    // The S3 client runs on its own runtime, made here, outside the Lambda runtime's.
    let function = match LambdaConfig::from_env(|k| std::env::var(k).ok()).and_then(Function::new) {
        Ok(f) => Arc::new(Mutex::new(f)),
        Err(e) => {
            tracing::error!(error = %jwas::error::chain(&e), "bad configuration; the function cannot start");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "starting the Lambda runtime client failed");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SqsEvent>| {
            let function = Arc::clone(&function);
            async move {
                // The work blocks (parsing, and S3 on its own runtime): off this thread.
                tokio::task::spawn_blocking(move || invoke(&function, event))
                    .await
                    .map_err(|e| -> lambda_runtime::Error { e.to_string().into() })
            }
        },
    )));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime client stopped");
            ExitCode::FAILURE
        }
    }
}

fn invoke(function: &Mutex<Function>, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    let _entered = span.enter();
    let records: Vec<Record> = event
        .payload
        .records
        .into_iter()
        .filter_map(|m| match m.message_id {
            Some(message_id) => Some(Record {
                message_id,
                body: m.body,
            }),
            None => {
                tracing::warn!("a record without a messageId cannot be reported; skipped");
                None
            }
        })
        .collect();
    let mut function = function.lock().unwrap_or_else(|p| p.into_inner());
    let failed = function.handle(&records, event.context.deadline);
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}
