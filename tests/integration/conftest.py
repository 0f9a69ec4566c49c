"""The packaged prod template, shared by the tests that read what `make package` deploys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.awsclient import TypedAWSClient
from chalice.cli.factory import CLIFactory
from chalice.deploy.deployer import DeploymentPackager
from chalice.package import PackageOptions, create_app_packager

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The merged prod template, as `make package` writes it, minus the zip.

    Building the zip downloads wheels and changes nothing in the template.
    """
    out = tmp_path_factory.mktemp("package")
    empty_zip = out / "empty.zip"
    empty_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)

    def no_zip(self: Any, config: Any, resource: Any) -> None:
        resource.filename = str(empty_zip)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DeploymentPackager, "handle_deploymentpackage", no_zip)
        patch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        factory = CLIFactory(project_dir=str(ROOT))
        config = factory.create_config_obj("prod")
        packager = create_app_packager(
            config,
            PackageOptions(TypedAWSClient(session=factory.create_botocore_session())),
            merge_template=str(ROOT / "infra" / "template.json"),
        )
        packager.package_app(config, str(out / "dist"), "prod")
    yield json.loads((out / "dist" / "sam.json").read_text())
