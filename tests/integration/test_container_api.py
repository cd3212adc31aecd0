"""testcontainers' builders on a real function container (python-fn)."""

from __future__ import annotations

import uuid

from pytest_lambda_image import LambdaFunction


def test_honoured_builders_reach_the_container(python_image, lambda_engine, tmp_path):
    (tmp_path / "data.txt").write_text("from the host")
    tmp_path.chmod(0o755)
    (tmp_path / "data.txt").chmod(0o644)
    network = lambda_engine.client.networks.create(f"pytest-lambda-test-{uuid.uuid4().hex[:8]}")
    try:
        function = (
            LambdaFunction(python_image, engine=lambda_engine)
            .with_command("handlers.probe")  # the image's CMD is handlers.echo
            .with_volume_mapping(tmp_path, "/mnt/host")
            .with_tmpfs_mount("/scratch", "8m")
            .with_exposed_ports(5678)
            .with_network(network.name)
            .with_network_aliases("orders-fn")
            .with_name(f"pytest-lambda-fn-{uuid.uuid4().hex[:8]}")
        )
        with function:
            probe = function.invoke({"write": ["/scratch/x", "/mnt/host/y"]}).json()
            assert probe["writes"] == {"/scratch/x": "ok", "/mnt/host/y": "Read-only file system"}

            info = function.get_container_info()
            assert info["Name"] == "/" + function._container_name
            assert "orders-fn" in info["NetworkSettings"]["Networks"][network.name]["Aliases"]
            assert function.get_exposed_port(5678) > 0
            assert function.get_exposed_port(8080) == int(function.endpoint.rsplit(":", 1)[1])
            assert function.get_container_host_ip() == "127.0.0.1"
            assert function.status == "running"

            result = function.exec(["/bin/cat", "/mnt/host/data.txt"])
            assert (result.exit_code, result.output) == (0, b"from the host")
            assert function.exec(["/usr/bin/id", "-u"]).output.strip() == b"993"  # Lambda's user, as the function

            function.copy_from_container("/mnt/host/data.txt", tmp_path / "back.txt")
            assert (tmp_path / "back.txt").read_text() == "from the host"
            stdout, stderr = function.get_logs()
            assert b"START RequestId" in stdout and b"(rapid)" in stderr
        assert function.status == "not_started"
    finally:
        network.remove()
