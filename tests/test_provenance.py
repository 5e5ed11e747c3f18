"""gan_jax.provenance: the code version a run records is the checkout that holds the running
package, and nothing else."""
import os
import subprocess

from gan_jax import provenance
from tests.conftest import ROOT


def _git(*args, cwd=ROOT):
  return subprocess.run(['git', *args], cwd=cwd, capture_output=True, text=True,
                        check=True).stdout.strip()


def test_the_code_version_is_the_checkouts_commit_marked_when_the_code_differs():
  changed = _git('status', '--porcelain', '--', 'gan_jax', 'configs')
  expected = _git('rev-parse', '--short', 'HEAD') + (' (modified)' if changed else '')
  assert provenance.code_version() == expected
  assert provenance.code_version(os.path.join(ROOT, 'gan_jax')) == expected


def test_a_package_inside_another_repository_is_not_given_its_commit(tmp_path):
  _git('init', '-q', cwd=tmp_path)
  _git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'x',
       cwd=tmp_path)
  installed = tmp_path / 'venv' / 'site-packages' / 'gan_jax'  # A wheel in a venv in it.
  installed.mkdir(parents=True)
  assert provenance.code_version(str(installed)) == 'unknown'
  assert provenance.code_version('/') == 'unknown'
