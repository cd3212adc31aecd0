"""Each capability is a plugin of its own: `-p no:<name>` switches it off
(its options, fixtures and hooks go), and the rest of the plugin works on."""

from __future__ import annotations

import pytest

CAPABILITIES = {
    # plugin name -> (one of its options, one of its fixtures or None)
    "lambda_build": ("--lambda-dockerfile", "lambda_image_factory"),
    "lambda_template": ("--lambda-template", None),
    "lambda_audit": ("--lambda-audit", "lambda_audit"),
    "lambda_aws": ("--lambda-aws", "lambda_aws"),
    "lambda_gateway": ("--lambda-gateway-format", "lambda_gateway"),
    "lambda_debug": ("--lambda-debug", None),
    "lambda_relay": (None, None),
}


def test_every_capability_plugin_is_registered_under_its_name(pytester):
    pytester.makepyfile(
        f"""
        def test_it(pytestconfig):
            for name in {sorted(CAPABILITIES)!r} + ["lambda_image"]:
                assert pytestconfig.pluginmanager.has_plugin(name), name
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("name", sorted(CAPABILITIES))
def test_a_capability_switched_off_takes_its_options_and_fixtures_along(pytester, name):
    flag, fixture = CAPABILITIES[name]
    pytester.makeini("[pytest]\nlambda_image = fn:1\nlambda_timeout = 5\n")
    pytester.makepyfile(
        f"""
        def test_core_still_works(pytestconfig, lambda_settings):
            assert not pytestconfig.pluginmanager.has_plugin({name!r})
            assert pytestconfig.pluginmanager.has_plugin("lambda_image")
            assert lambda_settings.image_ref == "fn:1" and lambda_settings.function.timeout == 5
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", f"no:{name}")
    result.assert_outcomes(passed=1)
    if flag is not None:
        refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", f"no:{name}", f"{flag}=x")
        assert refused.ret == pytest.ExitCode.USAGE_ERROR
        assert "unrecognized arguments" in refused.stderr.str()
    if fixture is not None:
        pytester.makepyfile(test_uses=f"def test_uses({fixture}):\n    pass\n")
        used = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", f"no:{name}", "test_uses.py")
        used.assert_outcomes(errors=1)
        assert f"fixture '{fixture}' not found" in used.stdout.str()


def test_a_marker_keyword_of_a_plugin_switched_off_is_refused_in_one_line(pytester):
    pytester.makeini("[pytest]\nlambda_image = fn:1\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.lambda_function(debug="python")
        def test_it(lambda_function):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:lambda_debug")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown function setting(s): debug (function settings: *"])
    assert "Traceback" not in result.stdout.str()
