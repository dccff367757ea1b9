"""Start the LocalStack runtime (what `python -m localstack.runtime.main` does), keeping
every file it writes under its FILESYSTEM_ROOT.

S3's object store otherwise defaults to the fixed /tmp/localstack-s3-storage, which
several instances on one machine would share (and wipe on shutdown).
"""

import os


def main() -> None:
    from localstack import config
    from localstack.services.s3 import provider as s3_provider

    s3_dir = os.path.join(config.dirs.tmp, "s3-storage")
    os.makedirs(s3_dir, exist_ok=True)
    s3_provider.DEFAULT_S3_TMP_DIR = s3_dir

    from localstack.runtime.main import main as localstack_main

    localstack_main()


if __name__ == "__main__":
    main()
