"""The plugin as users meet it: ini options, CLI options, fixtures, the
marker, failure reports, clean errors and cleanup, in real pytest sessions."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from pytest_lambda_image.build import find_buildkit_cli

from ..conftest import IMAGES, secret_step_of_its_own


def test_ini_configured_function(project):
    project.ini("lambda_timeout = 4\nlambda_memory_size = 256\nlambda_env =\n    STAGE=test\n    MODE=ini\n")
    project.tests(
        """
        def test_settings_from_ini(lambda_function):
            body = lambda_function.invoke({"x": 1}).raise_for_error().json()
            assert body["event"] == {"x": 1}
            assert body["env"]["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "4"
            assert body["memory_limit_in_mb"] == 256
            assert body["env"]["STAGE"] == "test" and body["env"]["MODE"] == "ini"
            assert body["function_name"].startswith("fn-")  # from the built image's name

        def test_shares_the_warm_container(lambda_function):
            assert lambda_function.invoke({}).json()["warm_invocations"] == 2

        def test_image_fixture(lambda_image):
            assert lambda_image.cmd == ("handlers.echo",)
        """
    )
    result = project.run()
    result.assert_outcomes(passed=3)
    assert project.leftovers() == []


def test_cpu_in_proportion_to_memory_by_default_and_the_opt_out(project):
    """0.3 s of CPU at 128 MB's share (Lambda's) is past a 3 s timeout; the
    ini option turns the share off for a suite, the marker back on for a test."""
    project.ini("lambda_cpu_scaling = false\n")
    project.tests(
        """
        import pytest
        from pytest_lambda_image import Outcome

        @pytest.mark.lambda_function(handler="handlers.burn_cpu")
        def test_the_hosts_cpu(lambda_function):
            assert lambda_function.invoke({"cpu_s": 0.3}).ok

        @pytest.mark.lambda_function(handler="handlers.burn_cpu", cpu_scaling=True)
        def test_lambdas_share(lambda_function):
            assert lambda_function.invoke({"cpu_s": 0.3}).outcome is Outcome.TIMEOUT
        """
    )
    project.run().assert_outcomes(passed=2)
    project.ini("")
    project.run("-k", "hosts_cpu").assert_outcomes(failed=1, deselected=1)  # the default: Lambda's share
    assert project.leftovers() == []


def test_marker_gives_a_fresh_container_with_overrides(project):
    project.ini("lambda_env = STAGE=ini\n")
    project.tests(
        """
        import pytest

        def test_shared(lambda_function):
            assert lambda_function.invoke({}).json()["env"]["STAGE"] == "ini"

        @pytest.mark.lambda_function(env={"STAGE": "marker"}, timeout=7, function_name="marked")
        def test_marked(lambda_function):
            body = lambda_function.invoke({}).json()
            assert body["env"]["STAGE"] == "marker"
            assert body["env"]["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
            assert body["function_name"] == "marked"
            assert body["warm_invocations"] == 1

        @pytest.mark.lambda_function(handler="handlers.variant")
        def test_handler_marker(lambda_function):
            assert lambda_function.invoke({}).json() == "variant"

        @pytest.mark.lambda_function(timout=3)
        def test_typo_in_marker(lambda_function):
            pass

        def test_shared_again(lambda_function):
            assert lambda_function.invoke({}).json()["warm_invocations"] == 2
        """
    )
    result = project.run()
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*unknown function setting(s): timout*"])
    assert project.leftovers() == []


def test_a_bare_marker_gives_a_fresh_container_too(project):
    project.ini()
    project.tests(
        """
        import pytest

        def test_warms_the_shared_one(lambda_function):
            lambda_function.invoke({})
            assert lambda_function.invoke({}).json()["warm_invocations"] == 2

        @pytest.mark.lambda_function()
        def test_bare_marker(lambda_function):
            assert lambda_function.invoke({}).json()["warm_invocations"] == 1

        @pytest.mark.lambda_function
        def test_marker_without_parentheses(lambda_function):
            assert lambda_function.invoke({}).json()["warm_invocations"] == 1

        def test_shared_again(lambda_function):
            assert lambda_function.invoke({}).json()["warm_invocations"] == 3
        """
    )
    project.run().assert_outcomes(passed=4)
    assert project.leftovers() == []


def test_factory_fixtures(project):
    project.ini()
    project.tests(
        """
        def test_factory(lambda_function_factory, lambda_image_factory, lambda_image):
            one = lambda_function_factory(handler="handlers.variant")
            two = lambda_function_factory(lambda_image.ref, env={"A": "1"})
            assert one.invoke({}).json() == "variant"
            assert two.invoke({}).json()["env"]["A"] == "1"
            assert lambda_image_factory.get(lambda_image.ref).id == lambda_image.id
        """
    )
    project.run().assert_outcomes(passed=1)
    assert project.leftovers() == []


def test_cli_image_overrides_the_ini_dockerfile(project, python_image):
    project.ini("lambda_dockerfile = does-not-exist/Dockerfile\n", dockerfile=False)
    project.tests(
        f"""
        def test_runs_the_given_image(lambda_function, lambda_image):
            assert lambda_image.ref == "{python_image.ref}"
            assert lambda_function.invoke({{"ci": True}}).json()["event"] == {{"ci": True}}
        """
    )
    project.run(f"--lambda-image={python_image.ref}").assert_outcomes(passed=1)


def test_cli_dockerfile_and_build_arg(project, pytester):
    project.ini(dockerfile=False)
    project.tests(
        """
        def test_built_with_cli_options(lambda_function):
            assert lambda_function.invoke({}).json()["env"]["GREETING"] == "from-cli"
        """
    )
    from ..conftest import BASE_IMAGE

    result = project.run(
        f"--lambda-dockerfile={project.function_dir.name}/Dockerfile",
        f"--lambda-build-arg=BASE_IMAGE={BASE_IMAGE}",
        "--lambda-build-arg=GREETING=from-cli",
    )
    result.assert_outcomes(passed=1)


def test_failed_test_report_has_that_tests_function_log(project):
    project.ini()
    project.tests(
        """
        def test_passes_first(lambda_function):
            lambda_function.invoke({"note": "earlier-test-line"})

        def test_fails(lambda_function):
            result = lambda_function.invoke({"note": "this-test-line"})
            assert result.json()["event"] == {"note": "something else"}
        """
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*- lambda function log: fn-* -*", '*echo invoked with {"note": "this-test-line"}*'])
    assert "earlier-test-line" not in result.stdout.str()


@pytest.mark.parametrize(
    ("ini", "args", "message"),
    [
        ("lambda_timeout = 2.5\n", (), "invalid function timeout '2.5': use a whole number of seconds from 1 to 900*"),
        ("lambda_memory_size = 64\n", (), "invalid memory size '64'*"),
        ("lambda_region = mars-1\n", (), "invalid region 'mars-1': give an AWS region name such as us-east-1*"),
        (
            "",
            ("--lambda-image=pytest-lambda-image-test/unknown:1", "--lambda-pull=never"),
            "image 'pytest-lambda-image-test/unknown:1' is not on the Docker engine (pull is off)*",
        ),
    ],
)
def test_bad_settings_fail_with_one_clear_line(project, ini, args, message):
    project.ini(ini)
    project.tests("def test_x(lambda_function):\n    pass\n")
    result = project.run(*args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{message}"])
    assert "Traceback" not in result.stdout.str()
    assert "site-packages/docker" not in result.stdout.str()
    assert project.leftovers() == []


def test_a_route_with_a_mistyped_method_is_refused(project):
    project.ini("lambda_handler = handlers.proxy\nlambda_gateway_routes = GETT /orders/{id}\n")
    project.tests(
        """
        import requests

        def test_get_an_order(lambda_gateway_url):
            assert requests.get(lambda_gateway_url + "/orders/1").status_code == 200
        """
    )
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*invalid route 'GETT /orders/{id}': the method 'GETT' is not one of ANY, DELETE, GET, *"
            "(check lambda_gateway_routes*"
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert project.leftovers() == []


def test_missing_dockerfile(project):
    project.ini(dockerfile=False)
    project.pytester.makeini("[pytest]\nlambda_dockerfile = nowhere/Dockerfile\n")
    project.tests("def test_x(lambda_function):\n    pass\n")
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Dockerfile */nowhere/Dockerfile does not exist*"])


def test_build_failure_shows_the_build_log(project):
    project.ini()
    (project.function_dir / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo compiling-the-thing && false\n"
    )
    project.tests("def test_x(lambda_function):\n    pass\n")
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*docker build of */fn-*/Dockerfile failed*", "*compiling-the-thing*"])


def test_no_image_configured(project):
    project.ini(dockerfile=False)
    project.tests("def test_x(lambda_function):\n    pass\n")
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no function image configured: set lambda_dockerfile*"])


def test_no_docker_daemon(project, tmp_path, monkeypatch):
    project.ini()
    project.tests(
        """
        def test_x(lambda_function):
            pass

        def test_pure():
            assert True

        def test_y(lambda_engine):
            pass

        def test_z(lambda_image_factory):
            pass
        """
    )
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = project.run()
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(
        [f"*no Docker daemon at unix://{tmp_path}/no-docker.sock: start Docker or set DOCKER_HOST*"]
    )
    # Said in full once; the other tests error in one short line each.
    errors = result.stdout.str().split("short test summary info")[0]
    assert errors.count("no Docker daemon at") == 1
    assert errors.count("Docker is unreachable (said in full at the first test that needed it)") == 2
    assert "Traceback" not in result.stdout.str()


def test_containers_are_removed_after_failures_and_errors(project):
    project.ini()
    project.tests(
        """
        import pytest

        def test_fails(lambda_function):
            lambda_function.invoke({})
            assert False

        @pytest.mark.lambda_function(env={"A": "1"})
        def test_fails_with_own_container(lambda_function):
            raise RuntimeError("boom")

        def test_factory_then_error(lambda_function_factory):
            lambda_function_factory()
            1 / 0
        """
    )
    project.run().assert_outcomes(failed=3)
    assert project.sessions() and project.leftovers() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_containers_are_removed_on_interrupt(project, signum):
    """Ctrl-C (SIGINT) and a CI cancel (SIGTERM) in the middle of a test."""
    project.ini()
    project.tests(
        f"""
        import time

        def test_waits(lambda_function):
            lambda_function.invoke({{}})
            open({str(project.ready_file)!r}, "w").close()
            time.sleep(60)
        """
    )
    process = project.start_until_ready()
    try:
        assert len(project.leftovers()) == 2  # the container and its /tmp volume
        os.kill(process.pid, signum)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert project.leftovers() == []


def test_a_killed_sessions_containers_are_reaped_by_the_next(project):
    project.ini()
    project.tests(
        f"""
        import time

        def test_waits(lambda_function):
            open({str(project.ready_file)!r}, "w").close()
            time.sleep(60)
        """
    )
    process = project.start_until_ready()
    process.kill()  # SIGKILL: nothing in that process can clean up
    process.wait()
    # (another worker's inner session may already have reaped it)
    assert len(project.leftovers()) <= 2  # the container and its /tmp volume

    project.tests("def test_next(lambda_engine):\n    pass\n")
    project.run().assert_outcomes(passed=1)
    assert project.leftovers() == []


def test_xdist_workers_share_one_build(project):
    project.ini()
    marker = project.function_dir / "unique.txt"
    marker.write_text(str(time.time_ns()))  # new inputs: this session must build
    project.tests(
        """
        import os
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_each(lambda_function, lambda_image, n, worker_id):
            assert lambda_function.invoke({"n": n}).json()["event"] == {"n": n}
            with open("built-" + worker_id, "w") as f:
                f.write(f"{lambda_image.built} {lambda_image.id}")
        """
    )
    result = project.run("-n", "2")
    result.assert_outcomes(passed=4)
    records = [p.read_text().split() for p in project.pytester.path.glob("built-gw*")]
    assert len(records) == 2
    assert sorted(r[0] for r in records) == ["False", "True"]  # one worker built, the other reused it
    assert len({r[1] for r in records}) == 1
    # The workers have no terminal: the controller prints the line of the one that built, once.
    result.stdout.fnmatch_lines(["lambda image: pytest-lambda-image/fn-*:* (built with *, * s)"])
    assert result.stdout.str().count("lambda image: ") == 1
    assert project.leftovers() == []


def test_fidelity_from_ini_cli_and_marker(project):
    project.ini("lambda_fidelity = false\nlambda_ephemeral_storage = 1024\n")
    project.tests(
        """
        import pytest

        def test_plain_docker_run(lambda_function):
            body = lambda_function.invoke({}).json()
            assert body["env"]["HOME"] == "/root"  # root's home: not Lambda's user

        @pytest.mark.lambda_function(fidelity=True, handler="handlers.probe")
        def test_marker_turns_it_on(lambda_function):
            body = lambda_function.invoke({"write": ["/var/task/x"]}).json()
            assert body["uid"] == 993 and body["writes"] == {"/var/task/x": "Read-only file system"}
            api = lambda_function.get_docker_client().api
            host = api.inspect_container(lambda_function.get_container_id())["HostConfig"]
            assert {u["Name"]: u["Hard"] for u in host["Ulimits"]}["fsize"] == 1024**3  # no file past /tmp's size
        """
    )
    project.run().assert_outcomes(passed=2)
    project.tests(
        """
        def test_cli_wins(lambda_function):
            assert lambda_function.invoke({}).json()["env"]["HOME"] == "/"  # uid 993 has no home
        """
    )
    project.run("--lambda-fidelity=true").assert_outcomes(passed=1)
    assert project.leftovers() == []


def test_a_reserved_variable_in_the_ini_file_fails_every_test_clearly(project):
    project.ini("lambda_env = AWS_REGION=eu-west-1\n")
    project.tests(
        """
        def test_one(lambda_function):
            pass
        """
    )
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*AWS_REGION is reserved by Lambda and cannot be set (use the region setting*"])
    assert "Traceback" not in result.stdout.str()


def test_build_settings_from_ini_and_the_build_line(project, monkeypatch):
    if find_buildkit_cli() is None:
        pytest.skip("no docker CLI that can run BuildKit builds")
    shutil.copytree(IMAGES / "buildkit-fn", project.function_dir, dirs_exist_ok=True)
    secret_step_of_its_own(project.function_dir)
    monkeypatch.setenv("INDEX_TOKEN", "twelve chars")
    project.ini("lambda_build_secrets = id=index_token,env=INDEX_TOKEN\nlambda_target = final\n")
    project.tests(
        """
        def test_the_secret_reached_the_build(lambda_function):
            assert lambda_function.invoke({}).json() == {"token_length": 12, "debug": None}
        """
    )
    result = project.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["lambda image: pytest-lambda-image/fn-*:* (built with buildkit (*), * s)"])
    again = project.run()
    again.stdout.fnmatch_lines(["lambda image: pytest-lambda-image/fn-*:* (unchanged inputs, not rebuilt, * s)"])


def test_a_context_with_the_tests_in_it_warns_once(project):
    (project.function_dir / "tests").mkdir()
    (project.function_dir / "tests" / "test_inside.py").write_text("")
    project.ini()
    project.tests(
        """
        def test_one(lambda_image):
            pass

        def test_two(lambda_image):
            pass
        """
    )
    result = project.run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*ContextIncludesTestsWarning: the build context * sends your tests to docker*"])
    assert result.stdout.str().count("sends your tests to docker") == 1


def test_a_pytest_cache_in_the_context_does_not_rebuild_the_image(project):
    """A test run rewrites .pytest_cache; the Dockerfile does not copy it, so the next session reuses the image."""
    cache = project.function_dir / ".pytest_cache" / "v" / "cache"
    cache.mkdir(parents=True)
    (cache / "lastfailed").write_text("{}")
    project.ini()
    project.tests("def test_one(lambda_image):\n    pass\n")
    project.run().assert_outcomes(passed=1)
    (cache / "lastfailed").write_text('{"test_function.py::test_one": true}')
    (cache / "nodeids").write_text('["test_function.py::test_one"]')
    again = project.run()
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["lambda image: pytest-lambda-image/fn-*:* (unchanged inputs, not rebuilt, * s)"])
    assert "ContextIncludesTestsWarning" not in again.stdout.str()


def test_a_copied_cache_directory_is_named_in_the_warning(project):
    dockerfile = project.function_dir / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY handlers.py broken_init.py", "COPY . "))
    (project.function_dir / "__pycache__").mkdir()
    (project.function_dir / "__pycache__" / "handlers.cpython-311.pyc").write_bytes(b"\0")
    project.ini()
    project.tests("def test_one(lambda_image):\n    pass\n")
    result = project.run("-W", "always::pytest_lambda_image.build.ContextIncludesTestsWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*the build context * sends __pycache__/ to docker and the Dockerfile copies them: each test run"
            " rewrites them and rebuilds the image; list [*][*]/__pycache__ in a .dockerignore*"
        ]
    )
