"""cookbook.source: the notebook shows the code that runs."""
import pytest

from cookbook import dctts, source

def test_source_shows_the_code_of_the_module():
    text = source.source_of(dctts.C, dctts.decode)
    assert 'class C(nn.Module):' in text and 'def decode(text2mel, texts' in text
    assert text == source.source_of(dctts.C) + '\n\n' + source.source_of(dctts.decode)
    with pytest.raises(TypeError, match='cannot show the source of'):
        source.source_of(len)
    with pytest.raises(ValueError):
        source.source_of()
