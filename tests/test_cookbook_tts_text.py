"""cookbook.tts_text: from written English to the released DC-TTS model's 32 symbols."""
import csv

import pytest

import cookbook
from cookbook import tts_text
from cookbook.tts_text import normalize_text, prepare_text, split_sentences, split_text, text_to_ids


@pytest.mark.parametrize('text, expected', [
    # numbers through num2words: cardinals are not read as years ...
    ('1234 cases', 'one thousand two hundred and thirty four cases'),
    ('2005 people', 'two thousand and five people'),
    ('The 1,200,000 copies', 'the one million two hundred thousand copies'),
    ('101 dalmatians', 'one hundred and one dalmatians'),
    # ... unless a word says they are years
    ('In 1843 the press moved.', 'in eighteen forty three the press moved.'),
    ('In 1905.', 'in nineteen oh five.'),
    ('in September 1964', 'in september nineteen sixty four'),
    ('of about 1455', 'of about fourteen fifty five'),
    ('since 2005', 'since two thousand and five'),
    # ordinals, decades, decimals, money, percentages, times, negative numbers
    ('The 21st and 2nd of May', 'the twenty first and second of may'),
    ('The 1,000th day', 'the one thousandth day'),
    ('On the 1,000,000th try', 'on the one millionth try'),
    ('In the 1990s', 'in the nineteen nineties'),
    ("The '80s, the 1800s and the 2000s", 'the eighties the eighteen hundreds and the two thousands'),
    ('pi is 3.14', 'pi is three point one four'),
    ('It cost $3.50 at 12:30.', 'it cost three dollars fifty cents at twelve thirty.'),
    ('$1 and $1,200', 'one dollar and one thousand two hundred dollars'),
    ('£2.01', 'two pounds one penny'),
    ('50% and 2.5%', 'fifty percent and two point five percent'),
    ("at 9:00 and 7:05", "at nine o'clock and seven oh five"),
    ('It was -5 degrees', 'it was minus five degrees'),
    ('(-3.5 and −2)', 'minus three point five and minus two'),
    # ranges
    ('pages 3-4', 'pages three to four'),
    ('from 10–12 May', 'from ten to twelve may'),
    ('3-4%', 'three to four percent'),
    ('From 1990-1995, a 5-year-old', 'from nineteen ninety to nineteen ninety five a five year old'),
    # symbols and abbreviations
    ('salt & pepper', 'salt and pepper'),
    ('Mr. Smith and Mrs. Brown met Dr. Jones.', 'mister smith and missus brown met doctor jones.'),
    ('St. Paul lived on Baker St. then.', 'saint paul lived on baker street then.'),
    ('No. 5 and Lt. Col. Gray', 'number five and lieutenant colonel gray'),
    ('Smith Jr. & Co.', 'smith junior and company.'),
    ('e.g. this, i.e. that, etc.', 'for example this that is that et cetera.'),
    # accents, look-alikes, case
    ("Café déjà-vu! Isn’t it?", "cafe deja vu. isn't it?"),
    ('The old man the boat.', 'the old man the boat.'),
])
def test_normalize_text(text, expected):
    assert normalize_text(text).text == expected


# Issue 21: ordinary text the front end misread ("$2.5 million" -> "two dollars. five million", "6 ft."
# -> "six fort", "1/2" -> "one two", "Jan. 5, 1990" -> "jan. five one thousand nine hundred ...").
@pytest.mark.parametrize('text, spoken', [
    ('$2.5 million', 'two point five million dollars'),
    ('$20 million', 'twenty million dollars'),
    ('6 ft. tall', 'six feet tall'),
    ('1/2', 'one half'),
    ('Jan. 5, 1990', 'January fifth, nineteen ninety'),
    ('In 1984 & 1985', 'In nineteen eighty four and nineteen eighty five'),
    ('The U.K. economy', 'The U K economy'),
])
def test_issue_cases_read_as_a_person_would(text, spoken):
    assert tts_text.expand(text) == spoken
    assert normalize_text(text).text == spoken.lower().replace(',', '')


@pytest.mark.parametrize('text, expected', [
    # money: cents, scales, other currencies
    ('$0.05 and $1.01', 'five cents and one dollar one cent'),
    ('$1.00', 'one dollar'),
    ('$2.5', 'two point five dollars'),
    ('$1 million and $3bn', 'one million dollars and three billion dollars'),
    ('£1.5 billion, €20 and €2.50', 'one point five billion pounds twenty euros and two euros fifty cents'),
    ('a $5m deal', 'a five million dollars deal'),
    # measures: singular and plural, decimals; the unit's period is not a sentence end ...
    ('1 ft and 1.5 ft', 'one foot and one point five feet'),
    ('He ran 10 km in 1 hr.', 'he ran ten kilometers in one hour.'),
    ('2.5 kg of salt, 3 lbs of flour, 8 oz', 'two point five kilograms of salt three pounds of flour eight ounces'),
    ('a 3 in. nail', 'a three inches nail'),
    ('It was 20 °C, or 68°F.', 'it was twenty degrees celsius or sixty eight degrees fahrenheit.'),
    ('60 mph, 100 km/h', 'sixty miles per hour one hundred kilometers per hour'),
    # ... but Ft. before a name is still a fort, "in" without a period still a word
    ('Ft. Worth', 'fort worth'),
    ('The 6 in the box', 'the six in the box'),
    # fractions
    ('3/4 of them and 2/3 of us', 'three quarters of them and two thirds of us'),
    ('1 1/2 cups, 5/8 inch', 'one and a half cups five eighths inch'),
    ('3/2 and 1/10', 'three halves and one tenth'),
    # dates and years in context
    ('On May 5th, 2001, he left', 'on may fifth two thousand and one he left'),
    ('5 May 1990 was a Saturday', 'the fifth of may nineteen ninety was a saturday'),
    ('the 21st of June', 'the twenty first of june'),
    ('Dec. 25 and Sept. 1', 'december twenty fifth and september first'),
    ('12/25/2020 and 25/12/1999', 'december twenty fifth twenty twenty and december twenty fifth nineteen ninety nine'),
    ('in 1914, 1918 and 1939', 'in nineteen fourteen nineteen eighteen and nineteen thirty nine'),
    ('from 1990 to 1995', 'from nineteen ninety to nineteen ninety five'),
    ('1984 and 1985 people', 'one thousand nine hundred and eighty four and one thousand nine hundred and '
                             'eighty five people'),  # no cue: counts, not years
    ('in the 1990s and 2000s', 'in the nineteen nineties and two thousands'),
    # times with a.m. / p.m., ordinals, percentages
    ('at 5 p.m. sharp and 10:30am', 'at five p m sharp and ten thirty a m'),
    ('Meet at 7 AM. Bring food.', 'meet at seven a m. bring food.'),
    ('the 3rd, 22nd and 101st', 'the third twenty second and one hundred and first'),
    ('up 12.5% on 3%', 'up twelve point five percent on three percent'),
    # initialisms with periods, spelt letter by letter; a sentence may end on one
    ('The U.S.A. and the U.K.', 'the u s a and the u k.'),
])
def test_more_classes_of_real_text(text, expected):
    assert normalize_text(text).text == expected


def test_output_uses_only_the_vocabulary():
    result = normalize_text('Ünïcödé — “quotes”, tabs\tand 😀 emoji; 42 things & 3-4 more!')
    assert set(result.text) <= set(tts_text.VOCAB[2:])
    assert result.text == 'unicode quotes tabs and emoji forty two things and three to four more.'


def test_dropped_characters_are_reported():
    result = normalize_text('Hello, world; “quoted” 😀')
    assert result.text == 'hello world quoted'
    assert result.dropped == ',;“”😀'
    assert normalize_text('1,234 cases').dropped == ''  # num2words' own commas and hyphens are not "dropped"


@pytest.mark.parametrize('bad', ['', '   \n', '😀😀', '—'])
def test_empty_text_is_an_error(bad):
    with pytest.raises(ValueError, match='empty|nothing to say'):
        normalize_text(bad)
    with pytest.raises(ValueError, match='empty|nothing to say'):
        prepare_text(bad)


def test_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match='str'):
        normalize_text(42)


@pytest.mark.parametrize('root', [cookbook.SAMPLES_DIR / 'ljspeech',
                                  cookbook.REPO_ROOT.parent / 'shared' / 'data' / 'ljspeech_sample'])
def test_agrees_with_the_datasets_own_normalisation(root):
    """LJSpeech's 3rd column spells numbers out by hand; normalising the 2nd must give the same."""
    if not (root / 'metadata.csv').is_file():
        pytest.skip(f'{root} is not here')
    with open(root / 'metadata.csv', encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f, delimiter='|', quoting=csv.QUOTE_NONE))
    assert any(any(ch.isdigit() for ch in row[1]) for row in rows)  # the test has numbers to check
    for clip_id, text, normalized in rows:
        assert normalize_text(text).text == normalize_text(normalized).text, clip_id


def test_sentences_do_not_break_after_abbreviations():
    text = 'He lived in Washington. Dr. Jones met him there. J. R. Smith came too! Did he? "Yes." St. Paul wrote.'
    assert split_sentences(text) == ['He lived in Washington.', 'Doctor Jones met him there.',
                                     'J. R. Smith came too.', 'Did he?', '"Yes."', 'Saint Paul wrote.']
    assert split_sentences('Mr. and Mrs. Smith arrived at 3 p.m. sharp.') == [
        'Mister and Missus Smith arrived at three p m sharp.']
    assert split_sentences('No split here') == ['No split here']


def test_text_to_ids():
    vocab = tts_text.VOCAB
    assert text_to_ids('ab').tolist() == [vocab.index('a'), vocab.index('b'), tts_text.EOS]
    assert str(text_to_ids('a').dtype) == 'torch.int64'
    with pytest.raises(ValueError, match='normalize_text'):
        text_to_ids('Hello!')
    with pytest.raises(ValueError, match='normalize_text'):
        text_to_ids('aE')  # P and E are control symbols, not letters the text may hold
    assert tts_text.PAD == vocab.index('P') == 0 and vocab == "PE abcdefghijklmnopqrstuvwxyz'.?"


def test_long_text_is_split_not_cut():
    sentence = 'The printers worked by hand, in small shops near the river, from dawn to dusk. '
    text = sentence * 6 + 'A ' + 'very ' * 60 + 'long clause without any punctuation at all. ' + 'x' * 400
    pieces = split_text(text)
    assert len(pieces) > 3
    assert max(len(normalize_text(p).text) for p in pieces) <= tts_text.MAX_N - 1
    assert ''.join(''.join(pieces).split()) == ''.join(text.split())  # every character kept, in order
    assert ' '.join(pieces).split()[:150] == text.split()[:150]  # words are not cut
    assert pieces[0].endswith('dusk.')  # sentence boundaries come first
    assert split_text('Short one.') == ['Short one.']


def test_split_does_not_cut_after_an_abbreviation():
    text = ('Dr. Jones wrote to Mr. Smith about the printing office near the river, ' * 3).strip()
    pieces = split_text(text, max_chars=80)
    assert all(len(normalize_text(p).text) <= 80 for p in pieces)
    assert not any(p.rstrip().lower().endswith(('dr.', 'mr.', 'doctor', 'mister')) for p in pieces)


def test_prepare_text_normalises_each_piece_and_reports_drops():
    text = 'In 1843, the press cost $3.50. — It was new; very new!'
    pieces, dropped = prepare_text(text, max_chars=40)
    assert len(pieces) > 1 and all(len(p) <= 40 for p in pieces)
    assert ' '.join(pieces) == normalize_text(text).text
    assert dropped == ',—;'


def test_sentences_to_say():
    from cookbook.tts_text import GARDEN_PATH_SENTENCES, sentences_to_say
    assert sentences_to_say(None) == sentences_to_say('') == list(GARDEN_PATH_SENTENCES)
    assert len(GARDEN_PATH_SENTENCES) == 10 and GARDEN_PATH_SENTENCES[0] == 'The horse raced past the barn fell.'
    assert sentences_to_say(' Hello there. | |Good bye. ') == ['Hello there.', 'Good bye.']
    with pytest.raises(ValueError, match=r"TTS_TEXT=' \| ' holds no sentence"):
        sentences_to_say(' | ')


def test_spelled_numbers_leave_no_space_before_punctuation():
    assert split_sentences('It was in 1843, in May. Then 2!') == ['It was in eighteen forty three, in May.',
                                                               'Then two.']  # ! reads as .
