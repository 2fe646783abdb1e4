"""Text front end of notebook 2 (DC-TTS): from written English to the model's 32 symbols.

The released LJSpeech model reads lower-case letters, space, ``'``, ``.`` and ``?`` (``P`` pads,
``E`` ends a sentence), so everything else has to be said in words first. The rules below cover
the classes a TTS text normaliser handles (NeMo's English grammars are the reference; they need
pynini, whose wheels are for Linux only), each with its tests:

* numbers through `num2words <https://pypi.org/project/num2words/>`_: cardinals ("1,234" ->
  "one thousand two hundred and thirty four"), ordinals, decimals, negative numbers, ranges
  ("3-4" -> "three to four"), fractions ("1/2" -> "one half", "2 3/4" -> "two and three
  quarters");
* years where the context says so: after words such as *in*, *since*, *about* or a month name,
  and after a year and *and*/*or*/*to* ("in 1984 & 1985" -> "in nineteen eighty four and
  nineteen eighty five"); decades ("1990s"); dates ("Jan. 5, 1990" -> "january fifth, nineteen
  ninety", "5 May 1990" -> "the fifth of may nineteen ninety");
* money with cents and scales ("$3.50" -> "three dollars fifty cents", "$2.5 million" -> "two
  point five million dollars"; $, £, €), percentages, times ("12:30", "5 p.m.");
* measures after a number ("6 ft." -> "six feet", "1 kg" -> "one kilogram", "20 °C"), with
  the period of the abbreviation consumed unless a sentence ends there;
* initialisms with periods, spelt letter by letter ("U.K." -> "u k"); all-capital words
  without periods (NASA, BBC) are left to the model, which may read them as words;
* symbols (``&`` -> "and") and abbreviations (Mr., Mrs., Dr., St., Jr., No. ...), expanded
  before sentences are split, so "Washington. Dr. Jones" splits after "Washington." only;
* accents are stripped (café -> cafe), ``!`` reads as ``.``, curly quotes become ``'``.

Whatever is still outside the vocabulary becomes a space and is *reported* (``dropped``), never
silently lost. ``split_text`` cuts long text into pieces the model can read in one go;
``sentences_to_say`` reads the notebook's TTS_TEXT setting (else the ten garden-path sentences).
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata

VOCAB = "PE abcdefghijklmnopqrstuvwxyz'.?"  # P: padding, E: end of sentence (the released vocab)
PAD, EOS = VOCAB.index('P'), VOCAB.index('E')
MAX_N = 180  # the released model's longest text, in characters

# The ten garden-path sentences notebook 2 reads (Tomas Graf, "Up the Garden Path", 2013).
GARDEN_PATH_SENTENCES = (
    'The horse raced past the barn fell.',
    'The old man the boat.',
    'The florist sent the flowers was pleased.',
    'The cotton clothing is made of grows in Mississippi.',
    'The sour drink from the ocean.',
    'Have the students who failed the exam take the supplementary.',
    'We painted the wall with cracks.',
    'The girl told the story cried.',
    'The raft floated down the river sank.',
    'Fat people eat accumulates.',
)

_MONTHS = ('january february march april may june july august september october november '
           'december').split()
# Words after which a four-digit number is read as a year ("in 1843", "since 1990").
_YEAR_CUES = set(_MONTHS) | set('in of since from until till by before after during about around '
                                'circa year spring summer autumn fall winter early late mid'.split())
# Between two years: "in 1984 and 1985", "from 1990 to 1995", "1914, 1918".
_YEAR_LINKS = {'and', 'or', 'to', 'through', 'until', 'till', 'nor'}

# Abbreviations, with and without their period; the period is consumed, so no sentence ends there.
_ABBREVIATIONS = {
    'mr': 'mister', 'mrs': 'missus', 'ms': 'miz', 'dr': 'doctor', 'drs': 'doctors', 'jr': 'junior',
    'sr': 'senior', 'prof': 'professor', 'rev': 'reverend', 'hon': 'honorable', 'capt': 'captain',
    'col': 'colonel', 'gen': 'general', 'lt': 'lieutenant', 'sgt': 'sergeant', 'maj': 'major',
    'gov': 'governor', 'messrs': 'messieurs', 'esq': 'esquire', 'mt': 'mount', 'ft': 'fort',
    'co': 'company', 'ltd': 'limited', 'inc': 'incorporated', 'vs': 'versus', 'etc': 'et cetera',
}
_ABBREVIATION = re.compile(r'\b(%s)\.' % '|'.join(_ABBREVIATIONS), re.IGNORECASE)
_LATIN = [(re.compile(r'\be\.g\.', re.I), 'for example'), (re.compile(r'\bi\.e\.', re.I), 'that is')]
# St. is "saint" before a name (St. Paul) and "street" after one (Baker St.).
_SAINT = re.compile(r'\bSt\.(?=\s+[A-Z])')
_STREET = re.compile(r'\bSt\.')
_NUMBER_SIGN = re.compile(r'\bNo\.(?=\s*\d)', re.IGNORECASE)

_REPLACEMENTS = {'’': "'", '‘': "'", '`': "'", '!': '.', '…': '.', '&': ' and ', '+': ' plus ',
                 '=': ' equals ', '@': ' at ', '#': ' number '}

_MONTH_ABBREVIATIONS = {m[:3]: m for m in _MONTHS} | {'sept': 'september'}
# Jan. 5 -> January 5: only before a number, where the abbreviation cannot be anything else.
_MONTH_ABBREVIATION = re.compile(r'\b(%s)\.?(?=\s+\d)' % '|'.join(
    m.capitalize() for m in sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True) if m != 'may'))

# Units after a number: written form -> (singular, plural). Case matters (m: metres, M: not a unit).
_UNITS = {
    'ft': ('foot', 'feet'), 'in.': ('inch', 'inches'), 'yd': ('yard', 'yards'), 'yds': ('yard', 'yards'),
    'mi': ('mile', 'miles'), 'mph': ('mile per hour', 'miles per hour'),
    'km/h': ('kilometer per hour', 'kilometers per hour'), 'kph': ('kilometer per hour', 'kilometers per hour'),
    'km': ('kilometer', 'kilometers'), 'm': ('meter', 'meters'), 'cm': ('centimeter', 'centimeters'),
    'mm': ('millimeter', 'millimeters'), 'kg': ('kilogram', 'kilograms'), 'g': ('gram', 'grams'),
    'mg': ('milligram', 'milligrams'), 'lb': ('pound', 'pounds'), 'lbs': ('pound', 'pounds'),
    'oz': ('ounce', 'ounces'), 'ml': ('milliliter', 'milliliters'), 'hr': ('hour', 'hours'),
    'hrs': ('hour', 'hours'), 'min': ('minute', 'minutes'), 'mins': ('minute', 'minutes'),
    'sec': ('second', 'seconds'), 'secs': ('second', 'seconds'), 'Hz': ('hertz', 'hertz'),
    'kHz': ('kilohertz', 'kilohertz'), 'MHz': ('megahertz', 'megahertz'), 'KB': ('kilobyte', 'kilobytes'),
    'MB': ('megabyte', 'megabytes'), 'GB': ('gigabyte', 'gigabytes'), 'TB': ('terabyte', 'terabytes'),
    '°C': ('degree celsius', 'degrees celsius'), '°F': ('degree fahrenheit', 'degrees fahrenheit'),
    '°': ('degree', 'degrees'),
}
_NUMBER = r'\d[\d,]*(?:\.\d+)?'
_MEASURE = re.compile(r'(?<![$£€\w.,])(%s)\s?(%s)(?![\w/°])(\.?)' % (_NUMBER, '|'.join(
    re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))))
# 5 p.m., 10:30am, 7 AM: the letters are said one by one.
_CLOCK_12 = re.compile(r'\b(\d{1,2})(?::(\d\d))?\s?([AaPp])\.?\s?[Mm]\b(\.?)')
# Initialisms written with periods: U.K., U.S.A., B.B.C. (two letters or more).
_INITIALISM = re.compile(r'\b((?:[A-Za-z]\.){2,})')
# A period keeps its sentence end only where a sentence may end: the end, or before a capital.
_ENDS_HERE = re.compile(r'\s*$|\s+["\'“‘(\[]?[A-Z]')


def _keep_period(match: re.Match, group: int) -> str:
    return '.' if match.group(group) and _ENDS_HERE.match(match.string, match.end()) else ''


def _words(number, **kwargs) -> str:
    """num2words without its punctuation: 'twenty-one' -> 'twenty one', 'one thousand, two' -> ..."""
    from num2words import num2words
    return re.sub(r'[-,\s]+', ' ', num2words(number, lang='en', **kwargs)).strip()


def _decimal(whole: str, fraction: str) -> str:
    return _words(int(whole)) + ' point ' + ' '.join(_words(int(d)) for d in fraction)


def _say(number: str) -> str:
    """A written number ('1,200', '2.5', '7') in words."""
    whole, _, fraction = number.replace(',', '').partition('.')
    return _decimal(whole, fraction) if fraction else _words(int(whole))


def _plural(number: int) -> str:
    """Decades and other plural numbers: 1990 -> 'nineteen nineties', 80 -> 'eighties'."""
    words = (_words(number, to='year') if 1000 <= number <= 2099 else _words(number)).split(' ')
    last = words[-1]
    words[-1] = last[:-1] + 'ies' if last.endswith('y') else last + 'es' if last.endswith('x') else last + 's'
    return ' '.join(words)


_CURRENCIES = {'$': ('dollar', 'dollars', 'cent', 'cents'), '£': ('pound', 'pounds', 'penny', 'pence'),
               '€': ('euro', 'euros', 'cent', 'cents')}
_SCALES = {'thousand': 'thousand', 'million': 'million', 'billion': 'billion', 'trillion': 'trillion',
           'k': 'thousand', 'm': 'million', 'bn': 'billion'}


def _money(match: re.Match) -> str:
    """$3.50 -> 'three dollars fifty cents', $0.05 -> 'five cents', $2.5 -> 'two point five dollars'."""
    one, many, sub_one, sub_many = _CURRENCIES[match.group(1)]
    whole, fraction = int(match.group(2).replace(',', '')), match.group(3)
    if fraction and len(fraction) != 2:
        return _decimal(str(whole), fraction) + ' ' + many
    cents = int(fraction or 0)
    spoken = [_words(whole) + ' ' + (one if whole == 1 else many)] if whole or not cents else []
    if cents:
        spoken.append(_words(cents) + ' ' + (sub_one if cents == 1 else sub_many))
    return ' '.join(spoken)


def _scaled_money(match: re.Match) -> str:
    """$2.5 million -> 'two point five million dollars', £3bn -> 'three billion pounds'."""
    return f'{_say(match.group(2))} {_SCALES[match.group(3).lower()]} {_CURRENCIES[match.group(1)][1]}'


def _fraction(match: re.Match) -> str:
    """1/2 -> 'one half', 3/4 -> 'three quarters', 2 1/2 -> 'two and a half'."""
    whole, numerator, denominator = match.group(1), int(match.group(2)), int(match.group(3))
    if denominator < 2:
        spoken = f'{_words(numerator)} over {_words(denominator)}'
    else:
        name = {2: 'half', 4: 'quarter'}.get(denominator) or _words(denominator, to='ordinal')
        plural = name[:-1] + 'ves' if name == 'half' else name + 's'
        spoken = ('a' if whole and numerator == 1 else _words(numerator)) + ' ' + (
            name if numerator == 1 else plural)
    return f'{_words(int(whole))} and {spoken}' if whole else spoken


def _clock(hours: str, minutes: str | None) -> str:
    if not minutes or minutes == '00':
        return _words(int(hours)) + ("" if minutes is None else " o'clock")
    return _words(int(hours)) + ' ' + ('oh ' if minutes[0] == '0' else '') + _words(int(minutes))


def _date(match: re.Match) -> str:
    """January 5, 1990 -> 'January fifth, nineteen ninety'; 5 May 1990 -> 'the fifth of May ...'."""
    if match.group('month'):
        spoken = f'{match.group("month")} {_words(int(match.group("day")), to="ordinal")}'
    else:
        # "5 May" -> "the fifth of May"; written "5th of May" or "the 5 May" already has its words.
        before = match.string[:match.start()].split()
        the = '' if match.group('of') or before and before[-1].lower() == 'the' else 'the '
        spoken = f'{the}{_words(int(match.group("day2")), to="ordinal")} of {match.group("month2")}'
    year = match.group('year') or match.group('year2')
    return spoken + ((match.group('comma') or '') + ' ' + _words(int(year), to='year') if year else '')


_MONTH_NAMES = '|'.join(m.capitalize() for m in _MONTHS)
_DATE = re.compile(
    r'(?<![-–])(?<![-–]\s)\b(?:(?P<month>%s)\s+(?P<day>[12]?\d|3[01])(?:st|nd|rd|th)?(?:(?P<comma>,?)\s+(?P<year>1\d{3}|20\d\d))?'
    r'|(?P<day2>[12]?\d|3[01])(?:st|nd|rd|th)?\s+(?P<of>of\s+)?(?P<month2>%s)(?:,?\s+(?P<year2>1\d{3}|20\d\d))?)'
    r'(?![\d:])' % (_MONTH_NAMES, _MONTH_NAMES))


# 12/25/2020 (month first, as in the US) or 25/12/2020 (a first number above 12: day first).
_NUMERIC_DATE = re.compile(r'\b(\d{1,2})/(\d{1,2})/(1\d{3}|20\d\d)\b')


def _numeric_date(match: re.Match) -> str:
    first, second, year = (int(g) for g in match.groups())
    month, day = (second, first) if first > 12 else (first, second)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ' / '.join(match.groups())  # not a date: the numbers are read one by one
    return f'{_MONTHS[month - 1].capitalize()} {_words(day, to="ordinal")}, {_words(year, to="year")}'


def _is_year(text: str, start: int) -> bool:
    """Whether the four-digit number at text[start:] is a year by its context: a year cue before
    it ('in 1843'), or a year and a link word ('in 1984 and 1985', 'from 1990 to 1995')."""
    before = text[:start].split()
    if not before:
        return False
    cue = before[-1].lower().strip('(,')
    if cue in _YEAR_CUES:
        return True
    if re.fullmatch(r'(1\d{3}|20\d\d),', before[-1]):  # 1914, 1918
        previous = before[-1]
    elif cue in _YEAR_LINKS and len(before) > 1 and re.fullmatch(r'(1\d{3}|20\d\d),?', before[-2]):
        previous = before[-2]
    else:
        return False
    return _is_year(text, text.rfind(previous, 0, start))


def _number(match: re.Match) -> str:
    """A plain integer: a year where its context says so ('in 1843'), else a cardinal ('1234 cases')."""
    value = int(match.group(0).replace(',', ''))
    if ',' not in match.group(0) and 1000 <= value <= 2099 and _is_year(match.string, match.start()):
        return _words(value, to='year')
    return _words(value)


def _range(match: re.Match) -> str:
    """3-4 -> '3 to 4' (spelled by the later rules); 1990-1995: both ends read as years."""
    first, last = match.group(1), match.group(2)
    if all(re.fullmatch(r'1\d{3}|20\d\d', n) for n in (first, last)):
        return _words(int(first), to='year') + ' to ' + _words(int(last), to='year')
    return first + ' to ' + last


_NUMBER_RULES = [
    (_NUMERIC_DATE, _numeric_date),
    (_DATE, _date),
    (re.compile(r'(?<![\w/.,])(?:(\d+)\s+)?(\d+)/(\d+)(?![\w/])'), _fraction),
    # ranges (a 5-year-old is not one: a letter follows the dash)
    (re.compile(r'(?<![\w.,])(\d[\d,.]*\d|\d)\s?[-–]\s?(\d[\d,.]*\d|\d)(?![\d-])'), _range),
    (re.compile(r'(?<![\w.,])[-\u2212](?=[$£€]?\d)'), lambda m: 'minus '),
    (re.compile(r'([$£€])\s?(%s)\s?(thousand|million|billion|trillion|k|m|bn)\b' % _NUMBER, re.IGNORECASE),
     _scaled_money),
    (re.compile(r'([$£€])(\d[\d,]*)(?:\.(\d+))?\b'), _money),
    (re.compile(r'\b(\d{1,2}):(\d\d)\b'), lambda m: _clock(m.group(1), m.group(2))),
    (re.compile(r'(\d+)(?:\.(\d+))?\s?%'),
     lambda m: (_decimal(m.group(1), m.group(2)) if m.group(2) else _words(int(m.group(1)))) + ' percent'),
    (re.compile(r'\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b', re.IGNORECASE),
     lambda m: _words(int(m.group(1).replace(',', '')), to='ordinal')),
    (re.compile(r"(?<![\w.,])'?(\d+0)'?s\b"), lambda m: _plural(int(m.group(1)))),
    (re.compile(r'\b(\d+)\.(\d+)\b'), lambda m: _decimal(m.group(1), m.group(2))),
    (re.compile(r'\b\d{1,3}(?:,\d{3})+\b|\d+'), _number),
]


def _measure(match: re.Match) -> str:
    """6 ft. tall -> '6 feet tall' (the number is spelled later), 1 kg -> '1 kilogram'."""
    one, many = _UNITS[match.group(2)]
    return f'{match.group(1)} {one if match.group(1) == "1" else many}{_keep_period(match, 3)}'


def _same_case(written: str, spoken: str) -> str:
    """Keep a capital (it may start a sentence): 'Dr' -> 'Doctor', 'dr' -> 'doctor'."""
    return spoken[0].upper() + spoken[1:] if written[:1].isupper() else spoken


def expand(text: str) -> str:
    """Say symbols, abbreviations and numbers in words; keep the text's punctuation and case."""
    for pattern, spoken in _LATIN:
        text = pattern.sub(spoken, text)
    text = _MONTH_ABBREVIATION.sub(lambda m: _MONTH_ABBREVIATIONS[m.group(1).lower()].capitalize(), text)
    text = _MEASURE.sub(_measure, text)  # before the abbreviations: 6 ft. is six feet, Ft. Worth a fort
    text = _CLOCK_12.sub(lambda m: f'{_clock(m.group(1), m.group(2))} {m.group(3).lower()} m'
                                   f'{_keep_period(m, 4)}', text)
    text = _INITIALISM.sub(lambda m: ' '.join(m.group(1).split('.')).strip()
                           + ('.' if not m.string[m.end():].strip() else ''), text)
    text = _SAINT.sub('Saint', text)
    text = _NUMBER_SIGN.sub(lambda m: _same_case(m.group(0), 'number'), text)
    text = _ABBREVIATION.sub(lambda m: _same_case(m.group(1), _ABBREVIATIONS[m.group(1).lower()])
                             + ('.' if not m.string[m.end():].strip() else ''), text)  # it ends the text
    text = _STREET.sub('street', text)
    text = ''.join(_REPLACEMENTS.get(ch, ch) for ch in text)
    for pattern, spell in _NUMBER_RULES:
        text = pattern.sub(lambda m: ' ' + spell(m) + ' ', text)
    return re.sub(r' (?=[.,;:!?])', '', re.sub(r'[ \t]+', ' ', text)).strip()  # no space before a mark


@dataclasses.dataclass
class NormalizedText:
    text: str        # only characters of VOCAB (lower-case letters, space, ' . ?)
    dropped: str     # characters that were removed, each once, in order of appearance


def normalize_text(text: str) -> NormalizedText:
    """Text in the model's alphabet: accents stripped, numbers and abbreviations said in words,
    lower case, every other character a space (and reported in ``dropped``).

    Raises ValueError for empty text, or text with no letter left to say.
    """
    if not isinstance(text, str):
        raise TypeError(f'text must be a str, got {type(text).__name__}')
    if not text.strip():
        raise ValueError('empty text: give the synthesiser at least one word to say')
    plain = ''.join(ch for ch in unicodedata.normalize('NFD', text) if unicodedata.category(ch) != 'Mn')
    spoken = expand(plain).lower()
    dropped = [ch for ch in dict.fromkeys(spoken) if ch not in VOCAB[2:] and not ch.isspace()]
    kept = ''.join(ch if ch in VOCAB[2:] else ' ' for ch in spoken)
    normalized = re.sub(r' ([.?])', r'\1', re.sub(' +', ' ', kept)).strip()
    if not re.search('[a-z]', normalized):
        raise ValueError(f'nothing to say in {text.strip()[:60]!r} after normalisation (dropped '
                         f'characters: {"".join(dropped)!r}); the model speaks English letters only')
    return NormalizedText(normalized, ''.join(dropped))


# A sentence ends at . ! ? (and closing quotes or brackets) before a space and a capital letter,
# a digit or an opening quote.
_SENTENCE_END = re.compile(r'[.!?]+["\'”’)\]]*(?=\s+["\'“‘(\[]?[A-Z0-9])')
_INITIAL = re.compile(r'(?:^|\s)[A-Z]\.$')  # "J. R. Smith": a single capital is an initial


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, abbreviations expanded (so "Dr." never ends one), every other
    character kept."""
    text = expand(text)
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if not _INITIAL.search(text[:end.start() + 1]):
            sentences.append(text[start:end.end()])
            start = end.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _spoken_length(piece: str) -> int:
    try:
        return len(normalize_text(piece).text)
    except ValueError:
        return 0  # nothing speakable (a lone dash): costs nothing; its characters are reported


def split_text(text: str, max_chars: int = MAX_N - 1) -> list[str]:
    """Pieces of ``text`` whose normalised form has at most ``max_chars`` characters.

    Splits at sentence ends first, then at phrase marks (, ; : dashes), then between words, and
    packs neighbours back together while they fit. Nothing is dropped: a single "word" longer
    than the limit is cut into parts. The default leaves room for the end symbol E in MAX_N.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError('empty text: give the synthesiser at least one word to say')

    def break_down(piece, level):
        if _spoken_length(piece) <= max_chars:
            return [piece]
        if level == 0:
            parts = split_sentences(piece)
        elif level == 1:
            parts = [p for p in re.split(r'(?<=[,;:])\s+|\s+(?=[-–—]+\s)|(?<=[—–])', piece) if p.strip()]
        elif level == 2:
            parts = piece.split()
        else:  # one enormous word: cut it, never drop it
            return [piece[i:i + max_chars] for i in range(0, len(piece), max_chars)]
        if len(parts) <= 1:
            return break_down(piece, level + 1)
        return [leaf for part in parts for leaf in break_down(part, level + 1)]

    chunks: list[str] = []
    for piece in break_down(text.strip(), 0):
        if chunks and _spoken_length(chunks[-1] + ' ' + piece) <= max_chars:
            chunks[-1] += ' ' + piece
        else:
            chunks.append(piece)
    return chunks


def prepare_text(text: str, max_chars: int = MAX_N - 1) -> tuple[list[str], str]:
    """Split and normalise one text: (normalised pieces, dropped characters)."""
    pieces, dropped = [], ''
    for raw in split_text(text, max_chars):
        try:
            normalized = normalize_text(raw)
        except ValueError:  # a piece with nothing to say, e.g. a lone dash
            dropped += ''.join(ch for ch in raw if not ch.isspace())
            continue
        pieces.append(normalized.text)
        dropped += normalized.dropped
    if not pieces:
        raise ValueError(f'nothing to say in {text!r}')
    return pieces, ''.join(dict.fromkeys(dropped))


def text_to_ids(normalized: str):
    """Character ids (a torch LongTensor) of normalised text, with the end symbol E appended."""
    import torch
    unknown = sorted({ch for ch in normalized if ch not in VOCAB[2:]})
    if unknown:
        raise ValueError(f'characters {"".join(unknown)!r} are not in the vocabulary {VOCAB!r}; '
                         'run normalize_text first')
    return torch.tensor([VOCAB.index(ch) for ch in normalized] + [EOS], dtype=torch.long)


def sentences_to_say(setting: str | None, name: str = 'TTS_TEXT') -> list[str]:
    """The texts of a setting such as TTS_TEXT: sentences separated by ``|`` (blank ones left
    out); None or '' means the ten garden-path sentences. A setting with no text is an error."""
    if not setting:
        return list(GARDEN_PATH_SENTENCES)
    texts = [part.strip() for part in setting.split('|') if part.strip()]
    if not texts:
        raise ValueError(f'{name}={setting!r} holds no sentence: give sentences separated by "|"')
    return texts
