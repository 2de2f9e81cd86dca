"""Hardening: perkd refuses weak secrets outside dev mode, and the nginx
configurations (the production example etc/nginx/perkd.conf and the dev/test
template etc/nginx.conf.in) carry the items the threat model relies on.

The secret checks run the real binary: `perkd --check-config` loads a
configuration exactly as a start does and exits 1 with a message when it
refuses it; the last test starts perkd for real with a weak secret and sees
it exit before it creates its socket.
"""
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402  (the shared e2e helpers)

PERKD = os.path.join(lib.BUILD_DIR, "perkd")


def strong():
    return {"resident_jwt_secret": secrets.token_hex(32), "subject_key": secrets.token_hex(32),
            "server_key": secrets.token_hex(32), "pass_seed": secrets.token_hex(32)}


class Secrets(unittest.TestCase):

    def check(self, dev_mode, **values):
        """perkd --check-config on a config with these secrets: (rc, output)."""
        conf = dict(strong(), **values)
        with tempfile.TemporaryDirectory(prefix="perkd-hard-") as d:
            path = os.path.join(d, "perkd.conf")
            with open(path, "w") as f:
                f.write("socket = %s/perkd.sock\n" % d)
                for k, v in conf.items():
                    if v is not None:
                        f.write("%s = %s\n" % (k, v))
                f.write("dev_mode = %d\n" % dev_mode)
            out = subprocess.run([PERKD, "--config", path, "--check-config"],
                                 capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout + out.stderr

    def refused(self, **values):
        rc, out = self.check(0, **values)
        self.assertEqual(rc, 1, out)
        self.assertIn("perkd:", out)
        for v in values.values():
            if v:
                self.assertNotIn(v, out, "a secret was echoed in the error")
        return out

    def test_strong_secrets__accepted(self):
        rc, out = self.check(0)
        self.assertEqual(rc, 0, out)

    def test_short_jwt_secret__refused_outside_dev_mode(self):
        self.assertIn("at least 32 bytes", self.refused(resident_jwt_secret="x7Q" * 10))

    def test_short_jwt_secret__allowed_in_dev_mode(self):
        rc, out = self.check(1, resident_jwt_secret="short-dev")
        self.assertEqual(rc, 0, out)

    def test_placeholder_jwt_secrets__refused(self):
        for v in ("change-me-change-me-change-me-change-me", "my-super-secret-jwt-key-for-perkd-1234"):
            with self.subTest(v=v):
                self.refused(resident_jwt_secret=v)

    def test_one_repeated_character_jwt_secret__refused(self):
        self.refused(resident_jwt_secret="a" * 64)

    def test_zero_keys__refused(self):
        for k in ("subject_key", "server_key", "pass_seed"):
            with self.subTest(key=k):
                self.refused(**{k: "0" * 64})

    def test_one_repeated_byte_keys__refused(self):
        for k in ("subject_key", "server_key", "pass_seed"):
            with self.subTest(key=k):
                self.refused(**{k: "11" * 32})

    def test_missing_secret__refused_even_in_dev_mode(self):
        for k in ("resident_jwt_secret", "subject_key", "server_key", "pass_seed"):
            with self.subTest(key=k):
                rc, out = self.check(1, **{k: None})
                self.assertEqual(rc, 1, out)

    def test_perkd_does_not_start_with_a_weak_secret(self):
        with tempfile.TemporaryDirectory(prefix="perkd-hard-") as d:
            path = os.path.join(d, "perkd.conf")
            with open(path, "w") as f:
                f.write("socket = %s/perkd.sock\n" % d)
                for k, v in dict(strong(), resident_jwt_secret="short").items():
                    f.write("%s = %s\n" % (k, v))
            t0 = time.monotonic()
            out = subprocess.run([PERKD, "--config", path], capture_output=True, text=True,
                                 timeout=30)
            self.assertEqual(out.returncode, 1, out)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertFalse(os.path.exists(os.path.join(d, "perkd.sock")))


def directives(path):
    """The configuration without comments, as one string, with the shared
    problem-pages snippet (etc/nginx/problems.conf) inlined where it is
    included, as nginx reads it."""
    with open(os.path.join(lib.REPO, path)) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    if re.search(r"include\s+\S*problems\.conf;", text):
        text = re.sub(r"include\s+\S*problems\.conf;",
                      lambda m: directives("etc/nginx/problems.conf"), text)
    return text


def fastcgi_blocks(text):
    """For every block that passes to FastCGI, the directives in force
    there: its own and those of the blocks around it (nginx inherits
    fastcgi_next_upstream and, when a block sets none, fastcgi_param)."""
    stack, found = [[]], []
    for tok in re.findall(r"[{};]|[^{};]+", text):
        if tok == "{":
            stack.append([])
        elif tok == "}":
            block = stack.pop()
            if any(d.startswith("fastcgi_pass") for d in block):
                found.append(block + [d for outer in stack for d in outer])
        elif tok != ";" and tok.strip():
            stack[-1].append(" ".join(tok.split()))
    return found


class Nginx(unittest.TestCase):
    """Each item of issue 8's list, in both configurations."""

    FILES = ("etc/nginx/perkd.conf", "etc/nginx.conf.in")
    ITEMS = {
        "body limit 64k": r"client_max_body_size\s+64k;",
        "header timeout": r"client_header_timeout\s+\d+s;",
        "body timeout": r"client_body_timeout\s+\d+s;",
        "limit_req zone": r"limit_req_zone\s+\$binary_remote_addr\s+zone=perkd_api:",
        "limit_req on the API": r"limit_req\s+zone=perkd_api\s",
        "limit_req answers 429": r"limit_req_status\s+429;",
        "httpoxy: HTTP_PROXY emptied": r'fastcgi_param\s+HTTP_PROXY\s+"";',
        "no retry of a request on another upstream": r"fastcgi_next_upstream\s+off;",
        "502/504 from perkd become the contract's 503": r"error_page\s+502\s+503\s+504\s+=503\s+/\.problem/503;",
        "503 problem document with Retry-After":
            r"location = /\.problem/503 \{\s*add_header Retry-After \d+ always;\s*"
            r"return 503 '\{[^']*\"code\":\"service_unavailable\"",
        "server_tokens off": r"server_tokens\s+off;",
    }

    def test_every_item_in_both_configurations(self):
        for path in self.FILES:
            text = directives(path)
            for name, pattern in self.ITEMS.items():
                with self.subTest(file=path, item=name):
                    self.assertRegex(text, pattern)

    def test_next_upstream_off_in_every_fastcgi_location(self):
        for path in self.FILES:
            blocks = fastcgi_blocks(directives(path))
            self.assertGreater(len(blocks), 0)
            for block in blocks:
                with self.subTest(file=path, block=block[:3]):
                    self.assertIn("fastcgi_next_upstream off", block)
                    self.assertIn('fastcgi_param HTTP_PROXY ""', block)

    def test_production_example_has_tls(self):
        text = directives("etc/nginx/perkd.conf")
        for pattern in (r"listen\s+443\s+ssl", r"ssl_certificate\s", r"ssl_certificate_key\s",
                        r"ssl_protocols\s+TLSv1\.2\s+TLSv1\.3;", r"Strict-Transport-Security",
                        r"return\s+301\s+https://"):
            with self.subTest(pattern=pattern):
                self.assertRegex(text, pattern)


if __name__ == "__main__":
    unittest.main()
