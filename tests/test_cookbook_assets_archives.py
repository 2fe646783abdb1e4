"""cookbook.safe_extract: honest archives extract, crafted malicious ones are refused up front."""
import io
import stat
import tarfile
import zipfile

import pytest

import cookbook


def _tar_member(tar, name, data=b'', **fields):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if data else None)


def _make_tar(path, members, mode='w'):
    """members: (name, data, fields); a harmless file always comes first."""
    with tarfile.open(path, mode) as tar:
        _tar_member(tar, 'harmless.txt', b'hello')
        for name, data, fields in members:
            _tar_member(tar, name, data, **fields)
    return path


def _make_zip(path, members):
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('harmless.txt', b'hello')
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _assert_nothing_written(tmp_path, dest):
    assert not dest.exists()
    written = [p for p in tmp_path.rglob('*') if p.name not in ('evil.tar', 'evil.zip')]
    assert written == [dest.parent]  # only the (empty) folder the test created


SYM = dict(type=tarfile.SYMTYPE)
HARD = dict(type=tarfile.LNKTYPE)

MALICIOUS_TARS = {
    'absolute path': ([('/tmp/evil.txt', b'x', {})], '/tmp/evil.txt'),
    'dotdot': ([('../evil.txt', b'x', {})], '../evil.txt'),
    'nested dotdot': ([('a/b/../../../evil.txt', b'x', {})], 'a/b/../../../evil.txt'),
    'symlink absolute': ([('link', b'', dict(SYM, linkname='/etc/passwd'))], 'link'),
    'symlink dotdot': ([('sub/link', b'', dict(SYM, linkname='../../outside'))], 'sub/link'),
    'symlink chain': ([('here', b'', dict(SYM, linkname='.')),
                       ('up', b'', dict(SYM, linkname='here/..'))], 'up'),
    'file through symlink': ([('here', b'', dict(SYM, linkname='.')),
                              ('here/../evil.txt', b'x', {})], 'here/../evil.txt'),
    'hardlink outside': ([('hard', b'', dict(HARD, linkname='../outside'))], 'hard'),
    'hardlink absolute': ([('hard', b'', dict(HARD, linkname='/etc/passwd'))], 'hard'),
    'char device': ([('dev', b'', dict(type=tarfile.CHRTYPE, devmajor=1, devminor=3))], 'dev'),
    'block device': ([('blk', b'', dict(type=tarfile.BLKTYPE, devmajor=8, devminor=0))], 'blk'),
    'fifo': ([('pipe', b'', dict(type=tarfile.FIFOTYPE))], 'pipe'),
}


def _assert_refused(tmp_path, archive, culprit):
    """safe_extract raises ValueError naming the culprit member, and writes nothing at all."""
    dest = tmp_path / 'out' / 'dest'
    dest.parent.mkdir()
    with pytest.raises(ValueError) as info:
        cookbook.safe_extract(archive, dest)
    assert repr(culprit) in str(info.value)
    _assert_nothing_written(tmp_path, dest)


@pytest.mark.parametrize('case', MALICIOUS_TARS)
def test_malicious_tar_refused_before_writing(tmp_path, case):
    members, culprit = MALICIOUS_TARS[case]
    _assert_refused(tmp_path, _make_tar(tmp_path / 'evil.tar', members), culprit)


@pytest.mark.parametrize('mode', ['w:gz', 'w:bz2', 'w:xz'])
def test_malicious_compressed_tar_refused(tmp_path, mode):
    archive = _make_tar(tmp_path / 'evil.tar', [('../evil.txt', b'x', {})], mode)
    dest = tmp_path / 'out' / 'dest'
    dest.parent.mkdir()
    with pytest.raises(ValueError, match='evil.txt'):
        cookbook.safe_extract(archive, dest)
    _assert_nothing_written(tmp_path, dest)


MALICIOUS_ZIPS = {
    'absolute path': ([('/evil.txt', b'x', None)], '/evil.txt'),
    'dotdot': ([('../evil.txt', b'x', None)], '../evil.txt'),
    'nested dotdot': ([('a/../../evil.txt', b'x', None)], 'a/../../evil.txt'),
    'backslash dotdot': ([('..\\evil.txt', b'x', None)], '..\\evil.txt'),
    'drive letter': ([('C:/evil.txt', b'x', None)], 'C:/evil.txt'),
    'symlink outside': ([('link', b'../../etc/passwd', stat.S_IFLNK | 0o777)], 'link'),
    'symlink absolute': ([('link', b'/etc/passwd', stat.S_IFLNK | 0o777)], 'link'),
    'fifo': ([('pipe', b'', stat.S_IFIFO | 0o644)], 'pipe'),
    'char device': ([('dev', b'', stat.S_IFCHR | 0o644)], 'dev'),
}


@pytest.mark.parametrize('case', MALICIOUS_ZIPS)
def test_malicious_zip_refused_before_writing(tmp_path, case):
    members, culprit = MALICIOUS_ZIPS[case]
    _assert_refused(tmp_path, _make_zip(tmp_path / 'evil.zip', members), culprit)


@pytest.mark.parametrize('mode', ['w', 'w:gz', 'w:bz2', 'w:xz'])
def test_honest_tar_extracts(tmp_path, mode):
    archive = tmp_path / 'good.tar'
    with tarfile.open(archive, mode) as tar:
        _tar_member(tar, 'top', type=tarfile.DIRTYPE, mode=0o755)
        _tar_member(tar, 'top/sub/a.txt', b'alpha')
        _tar_member(tar, 'top/./b.txt', b'beta')
        _tar_member(tar, 'top/sub/../c.txt', b'gamma')  # '..' that stays inside is fine
        _tar_member(tar, 'top/link', type=tarfile.SYMTYPE, linkname='sub/a.txt')
        _tar_member(tar, 'top/hard', type=tarfile.LNKTYPE, linkname='top/sub/a.txt')
    dest = tmp_path / 'dest'
    assert cookbook.safe_extract(archive, dest) == dest
    assert (dest / 'top/sub/a.txt').read_bytes() == b'alpha'
    assert (dest / 'top/b.txt').read_bytes() == b'beta'
    assert (dest / 'top/c.txt').read_bytes() == b'gamma'
    assert (dest / 'top/link').is_symlink() and (dest / 'top/link').read_bytes() == b'alpha'
    assert (dest / 'top/hard').read_bytes() == b'alpha'


def test_honest_zip_extracts(tmp_path):
    archive = tmp_path / 'good.zip'
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as zf:
        zf.writestr('words/bed/0001.wav', b'RIFF')
        zf.writestr('words/README', b'readme')
    dest = tmp_path / 'dest'
    cookbook.safe_extract(archive, dest)
    assert (dest / 'words/bed/0001.wav').read_bytes() == b'RIFF'
    assert (dest / 'words/README').read_bytes() == b'readme'


def test_not_an_archive(tmp_path):
    path = tmp_path / 'notes.txt'
    path.write_text('plain text')
    with pytest.raises(ValueError, match='neither a tar nor a zip'):
        cookbook.safe_extract(path, tmp_path / 'dest')
    with pytest.raises(FileNotFoundError, match='missing.tar'):
        cookbook.safe_extract(tmp_path / 'missing.tar', tmp_path / 'dest')


def test_extract_into_existing_folder_merges_and_keeps_other_files(tmp_path):
    dest = tmp_path / 'data'
    (dest / 'dataset').mkdir(parents=True)
    (dest / 'dataset' / 'mine.txt').write_text('keep me')
    (dest / 'other.txt').write_text('keep me too')
    archive = tmp_path / 'a.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        _tar_member(tar, 'dataset/clip.wav', b'RIFF')
        _tar_member(tar, 'dataset/sub/readme', b'hi')
    assert cookbook.safe_extract(archive, dest) == dest
    assert (dest / 'dataset' / 'clip.wav').read_bytes() == b'RIFF'
    assert (dest / 'dataset' / 'sub' / 'readme').read_bytes() == b'hi'
    assert (dest / 'dataset' / 'mine.txt').read_text() == 'keep me'
    assert (dest / 'other.txt').read_text() == 'keep me too'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.tar.gz', 'data']  # no staging left


def test_refused_member_leaves_existing_folder_untouched(tmp_path):
    dest = tmp_path / 'data'
    dest.mkdir()
    (dest / 'old.txt').write_text('old')
    archive = _make_tar(tmp_path / 'evil.tar', [('fine.txt', b'x', {}), ('../evil.txt', b'x', {})])
    with pytest.raises(ValueError, match=r"\.\./evil\.txt"):
        cookbook.safe_extract(archive, dest)
    assert sorted(p.name for p in dest.iterdir()) == ['old.txt']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data', 'evil.tar']
