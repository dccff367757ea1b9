#!/usr/bin/env python3
"""Deploy infra/template.yaml -- the same SAM template as for AWS -- to LocalStack.

What `sam build` + `sam package` + `sam deploy` do, for a LocalStack endpoint and host-built
binaries:

1. take the three function binaries (built natively for this host:
   `cargo build --release -p trawl-api -p trawl-poller -p trawl-crawler`), zip each as
   `bootstrap` and upload the zips to an artifacts bucket in LocalStack;
2. copy the template, point each function's CodeUri at its zip (s3://bucket/key), drop
   `Architectures` (the host is not necessarily arm64) and the build `Metadata`;
3. create or update the stack through LocalStack's CloudFormation API (which applies the
   AWS::Serverless-2016-10-31 transform itself), wait for it, print the outputs as JSON
   (ApiUrl in LocalStack's execute-api form) or the stack events on failure.

Usage (Python with boto3 and PyYAML, e.g. the LocalStack venv's `$LS_PY`):

    eval "$(localstack/run.sh env)"
    python infra/deploy_localstack.py [--stack-name trawl-dev] [--target-dir DIR] [--build]
    python infra/deploy_localstack.py --delete [--stack-name trawl-dev]

Binaries: `--target-dir DIR` (default $CARGO_TARGET_DIR or ./target) + `--profile release`
finds DIR/release/trawl-api etc.; `--binary trawl-api=PATH` overrides one; `--stand-in PATH`
uses one executable for all three (for trying the template before the functions exist).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

try:
    import boto3
    import yaml
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(
        f"deploy_localstack: {e}. Run with a Python that has boto3 and PyYAML, e.g. the "
        "LocalStack venv (localstack/env.sh: $LS_PY) or the infra venv (infra/check.sh)."
    )

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
BINARIES = ("trawl-api", "trawl-poller", "trawl-crawler")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"}
IN_PROGRESS_SUFFIX = "_IN_PROGRESS"


def log(msg: str) -> None:
    print(f"[deploy_localstack] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ template


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form tags (!Ref, !Sub, ...)."""


def _construct_cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def function_binary(resource: dict) -> str | None:
    meta = resource.get("Metadata") or {}
    props = meta.get("BuildProperties") or {}
    return props.get("Binary") or meta.get("Binary")


def localize_template(template: dict, code: dict[str, tuple[str, str]]) -> dict:
    """The template as `sam package` would leave it, minus what the host cannot run.

    code: binary name -> (bucket, key) of its zip.
    """
    out = copy.deepcopy(template)
    glob = out.get("Globals", {}).get("Function", {})
    glob.pop("Architectures", None)
    glob.pop("CodeUri", None)
    for name, res in out.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = function_binary(res)
        if binary is None:
            raise SystemExit(f"function {name} has no Metadata.BuildProperties.Binary")
        if binary not in code:
            raise SystemExit(f"function {name} wants binary {binary!r}: not given")
        bucket, key = code[binary]
        res.pop("Metadata", None)
        props = res.setdefault("Properties", {})
        props.pop("Architectures", None)
        props["CodeUri"] = f"s3://{bucket}/{key}"
    return out


# ------------------------------------------------------------------ AWS helpers


def clients(endpoint: str, region: str):
    cfg = Config(retries={"max_attempts": 3}, read_timeout=120)

    def mk(service: str):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            config=cfg,
        )

    return mk


def ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError:
        pass
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def zip_bootstrap(binary: Path) -> bytes:
    buf = io.BytesIO()
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(info, binary.read_bytes())
    return buf.getvalue()


def describe_stack(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def stack_events(cfn, name: str, since: float | None = None) -> list[dict]:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return []
    if since is not None:
        events = [e for e in events if e["Timestamp"].timestamp() >= since - 1]
    return list(reversed(events))


def print_events(cfn, name: str, since: float | None) -> None:
    events = stack_events(cfn, name, since)
    failed = [e for e in events if "FAILED" in e.get("ResourceStatus", "")]
    log(f"stack events ({len(events)}, {len(failed)} failed):")
    for e in events:
        reason = e.get("ResourceStatusReason") or ""
        print(
            f"  {e['Timestamp']:%H:%M:%S} {e['ResourceStatus']:<22} "
            f"{e.get('ResourceType', ''):<34} {e['LogicalResourceId']} {reason}",
            file=sys.stderr,
        )


def wait_stack(cfn, name: str, timeout: float, gone_ok: bool = False) -> str:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        stack = describe_stack(cfn, name)
        if stack is None:
            if gone_ok:
                return "DELETE_COMPLETE"
            raise SystemExit(f"stack {name} disappeared")
        status = stack["StackStatus"]
        if status != last:
            log(f"{name}: {status}")
            last = status
        if not status.endswith(IN_PROGRESS_SUFFIX):
            return status
        if time.monotonic() > deadline:
            return f"TIMEOUT ({status})"
        time.sleep(2)


def outputs_of(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def localstack_api_url(endpoint: str, outputs: dict[str, str]) -> str | None:
    api_id, stage = outputs.get("ApiId"), outputs.get("ApiStage")
    if not api_id or not stage:
        return None
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"


# ------------------------------------------------------------------ commands


def resolve_binaries(args) -> dict[str, Path]:
    overrides: dict[str, Path] = {}
    for spec in args.binary or []:
        name, sep, path = spec.partition("=")
        if not sep or name not in BINARIES:
            raise SystemExit(f"--binary wants NAME=PATH with NAME one of {', '.join(BINARIES)}")
        overrides[name] = Path(path)
    target = Path(args.target_dir or os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if args.build:
        cargo_profile = "dev" if args.profile == "debug" else args.profile
        cmd = ["cargo", "build", "--profile", cargo_profile]
        for b in BINARIES:
            if b not in overrides and not args.stand_in:
                cmd += ["-p", b]
        if len(cmd) > 4:
            env = dict(os.environ, CARGO_TARGET_DIR=str(target))
            log(f"building: {' '.join(cmd)} (target dir {target})")
            subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    profile_dir = "debug" if args.profile in ("dev", "debug") else args.profile
    paths: dict[str, Path] = {}
    missing = []
    for b in BINARIES:
        p = overrides.get(b) or (Path(args.stand_in) if args.stand_in else target / profile_dir / b)
        if not p.is_file() or not os.access(p, os.X_OK):
            missing.append(f"  {b}: {p}")
        paths[b] = p
    if missing:
        raise SystemExit(
            "deploy_localstack: missing function binaries (not built?):\n"
            + "\n".join(missing)
            + f"\nBuild them for this host: cargo build --release -p {' -p '.join(BINARIES)}"
            " (or pass --build), point --target-dir at the cargo target directory,"
            " or give --binary NAME=PATH / --stand-in PATH."
        )
    return paths


def parameter_overrides(args, ssm) -> list[dict]:
    params: dict[str, str] = {}
    for spec in args.parameter or []:
        k, sep, v = spec.partition("=")
        if not sep:
            raise SystemExit(f"--parameter wants Key=Value, got {spec!r}")
        params[k] = v
    if args.auth:
        if ":" not in args.auth:
            raise SystemExit("--auth wants user:password")
        name = f"/trawl/{args.stack_name}/auth"
        ssm.put_parameter(Name=name, Value=args.auth, Type="SecureString", Overwrite=True)
        log(f"auth credentials stored in SSM parameter {name}")
        params["AuthParameterName"] = name
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]


def deploy(args) -> int:
    mk = clients(args.endpoint, args.region)
    s3, cfn, ssm = mk("s3"), mk("cloudformation"), mk("ssm")
    binaries = resolve_binaries(args)

    ensure_bucket(s3, args.artifact_bucket, args.region)
    code: dict[str, tuple[str, str]] = {}
    for name, path in binaries.items():
        data = zip_bootstrap(path)
        key = f"{args.stack_name}/{name}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=args.artifact_bucket, Key=key, Body=data)
        code[name] = (args.artifact_bucket, key)
        log(f"{name}: {path} -> s3://{args.artifact_bucket}/{key} ({len(data) // 1024} KiB)")

    template = localize_template(load_template(Path(args.template)), code)
    body = json.dumps(template, indent=1)
    tmpl_args: dict
    if len(body) <= 51_200:
        tmpl_args = {"TemplateBody": body}
    else:
        key = f"{args.stack_name}/template-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
        s3.put_object(Bucket=args.artifact_bucket, Key=key, Body=body.encode())
        tmpl_args = {"TemplateURL": f"{args.endpoint.rstrip('/')}/{args.artifact_bucket}/{key}"}
    if args.write_template:
        Path(args.write_template).write_text(body)
        log(f"packaged template written to {args.write_template}")

    params = parameter_overrides(args, ssm)
    existing = describe_stack(cfn, args.stack_name)
    if existing and existing["StackStatus"].endswith(IN_PROGRESS_SUFFIX):
        log(f"{args.stack_name} is {existing['StackStatus']}: waiting for it")
        wait_stack(cfn, args.stack_name, 30, gone_ok=True)
        existing = describe_stack(cfn, args.stack_name)
    # LocalStack leaves a stack in CREATE_IN_PROGRESS when CreateStack fails validation;
    # REVIEW_IN_PROGRESS is a change set's empty stack.
    stale = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_IN_PROGRESS",
             "REVIEW_IN_PROGRESS", "CREATE_FAILED")
    if existing and existing["StackStatus"] in stale:
        log(f"{args.stack_name} is {existing['StackStatus']}: deleting it first")
        cfn.delete_stack(StackName=args.stack_name)
        wait_stack(cfn, args.stack_name, args.timeout, gone_ok=True)
        existing = None
    if existing and existing["StackStatus"] == "DELETE_COMPLETE":
        existing = None

    started = time.time()
    if existing is None:
        log(f"creating stack {args.stack_name} at {args.endpoint}")
        cfn.create_stack(
            StackName=args.stack_name, Parameters=params, Capabilities=CAPABILITIES, **tmpl_args
        )
        want = "CREATE_COMPLETE"
    else:
        log(f"updating stack {args.stack_name} ({existing['StackStatus']})")
        try:
            cfn.update_stack(
                StackName=args.stack_name, Parameters=params, Capabilities=CAPABILITIES, **tmpl_args
            )
        except ClientError as e:
            if "No updates are to be performed" not in str(e):
                raise
            log("no changes")
        want = "UPDATE_COMPLETE"

    status = wait_stack(cfn, args.stack_name, args.timeout)
    if status not in (want, "CREATE_COMPLETE", "UPDATE_COMPLETE"):
        log(f"deploy failed: {status}")
        print_events(cfn, args.stack_name, started)
        return 1

    stack = describe_stack(cfn, args.stack_name)
    apply_ignored_properties(mk, cfn, args.stack_name, stack, template)
    outputs = outputs_of(stack)
    outputs["AwsApiUrl"] = outputs.get("ApiUrl", "")
    url = localstack_api_url(args.endpoint, outputs)
    if url:
        outputs["ApiUrl"] = url
    outputs["StackName"] = args.stack_name
    outputs["StackStatus"] = status
    print(json.dumps(outputs, indent=2))

    if args.probe is not None:
        return probe(outputs.get("ApiUrl", ""), args.probe)
    return 0


def apply_ignored_properties(mk, cfn, name: str, stack: dict, template: dict) -> None:
    """Apply, through the service APIs, template properties LocalStack's CloudFormation
    accepts but does not set (LocalStack 2026.3): a function's ReservedConcurrentExecutions
    (the poller's 1 is what keeps max_proc) and a log group's RetentionInDays.
    Read from the same template, so there is still one description of the stack.
    """
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    defaults = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}

    def value(v):
        if isinstance(v, dict) and set(v) == {"Ref"}:
            v = params.get(v["Ref"], defaults.get(v["Ref"]))
        return int(v) if isinstance(v, (int, str)) and str(v).isdigit() else None

    physical = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
    }
    lam, logs = mk("lambda"), mk("logs")
    for logical, res in template.get("Resources", {}).items():
        props = res.get("Properties") or {}
        pid = physical.get(logical)
        if not pid:
            continue
        if res.get("Type") == "AWS::Serverless::Function":
            n = value(props.get("ReservedConcurrentExecutions"))
            if n is not None:
                cur = lam.get_function_concurrency(FunctionName=pid).get("ReservedConcurrentExecutions")
                if cur != n:
                    lam.put_function_concurrency(FunctionName=pid, ReservedConcurrentExecutions=n)
                    log(f"{logical}: reserved concurrency {n} (set through the Lambda API)")
        elif res.get("Type") == "AWS::Logs::LogGroup":
            days = value(props.get("RetentionInDays"))
            if days is not None:
                logs.put_retention_policy(logGroupName=pid, retentionInDays=days)


def probe(api_url: str, path: str) -> int:
    url = api_url.rstrip("/") + "/" + path.lstrip("/")
    log(f"probing GET {url}")
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                log(f"HTTP {r.status}: {r.read(2000).decode(errors='replace')}")
                return 0
        except urllib.error.HTTPError as e:
            body = e.read(2000).decode(errors="replace")
            log(f"HTTP {e.code}: {body}")
            if e.code < 500:
                return 0
        except OSError as e:
            log(f"probe error: {e}")
        if time.monotonic() > deadline:
            return 1
        time.sleep(2)


def delete(args) -> int:
    mk = clients(args.endpoint, args.region)
    s3, cfn, ddb, ssm = mk("s3"), mk("cloudformation"), mk("dynamodb"), mk("ssm")
    stack = describe_stack(cfn, args.stack_name)
    if stack is None:
        log(f"stack {args.stack_name} does not exist")
        outputs = {}
    else:
        outputs = outputs_of(stack)
        started = time.time()
        log(f"deleting stack {args.stack_name}")
        cfn.delete_stack(StackName=args.stack_name)
        status = wait_stack(cfn, args.stack_name, args.timeout, gone_ok=True)
        if status != "DELETE_COMPLETE":
            log(f"delete failed: {status}")
            print_events(cfn, args.stack_name, started)
            return 1
    if not args.keep_data:
        # The table and bucket are DeletionPolicy: Retain (as on AWS); LocalStack is scratch.
        if table := outputs.get("TableName"):
            try:
                ddb.delete_table(TableName=table)
                log(f"deleted retained table {table}")
            except ClientError as e:
                log(f"table {table}: {e}")
        if bucket := outputs.get("BucketName"):
            empty_and_delete_bucket(s3, bucket)
        try:
            ssm.delete_parameter(Name=f"/trawl/{args.stack_name}/auth")
        except ClientError:
            pass
    # This stack's code zips.
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=args.artifact_bucket, Prefix=f"{args.stack_name}/"
        ):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=args.artifact_bucket, Key=obj["Key"])
    except ClientError:
        pass
    return 0


def empty_and_delete_bucket(s3, bucket: str) -> None:
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for obj in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"], VersionId=obj["VersionId"])
        s3.delete_bucket(Bucket=bucket)
        log(f"deleted retained bucket {bucket}")
    except ClientError as e:
        log(f"bucket {bucket}: {e}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack-name", default=os.environ.get("TRAWL_STACK_NAME", "trawl-local"))
    p.add_argument("--template", default=str(TEMPLATE))
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    p.add_argument("--artifact-bucket", default="trawl-localstack-artifacts")
    p.add_argument("--target-dir", help="cargo target directory (default $CARGO_TARGET_DIR or ./target)")
    p.add_argument("--profile", default="release", help="cargo profile of the binaries: release (default), debug/dev, or a custom one")
    p.add_argument("--build", action="store_true", help="cargo build the binaries first")
    p.add_argument("--binary", action="append", metavar="NAME=PATH", help="use PATH for binary NAME")
    p.add_argument("--stand-in", metavar="PATH", help="one executable for all three functions (experiments)")
    p.add_argument("--parameter", action="append", metavar="KEY=VALUE", help="template parameter override")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="store in SSM and set AuthParameterName")
    p.add_argument("--probe", metavar="PATH", help="after deploying, GET ApiUrl/PATH and print the answer")
    p.add_argument("--write-template", metavar="FILE", help="also write the packaged template to FILE")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the stack")
    p.add_argument("--delete", action="store_true", help="delete the stack (and its retained table/bucket)")
    p.add_argument("--keep-data", action="store_true", help="with --delete: keep the retained table and bucket")
    args = p.parse_args(argv)
    try:
        return delete(args) if args.delete else deploy(args)
    except ClientError as e:
        log(f"AWS error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
