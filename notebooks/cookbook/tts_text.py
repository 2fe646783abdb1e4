"""Text front end of notebook 2 (DC-TTS): from written English to the model's 32 symbols.

The released LJSpeech model reads lower-case letters, space, ``'``, ``.`` and ``?`` (``P`` pads,
``E`` ends a sentence), so everything else has to be said in words first. The rules below cover
the classes a TTS text normaliser handles (NeMo's English grammars are the reference; they need
pynini, whose wheels are for Linux only), each with its tests:

* web and e-mail addresses, said as a reader says them ("letters@dailyherald.com" -> "letters at
  dailyherald dot com", "www.bbc.co.uk/news" -> "double you double you double you dot bee bee see
  dot co dot you kay slash news"), so that their dots never reach the model as sentence ends;
* telephone numbers digit by digit ("(555) 123-4567", "+1 555 123 4567", "020 7946 0958";
  a toll-free 800 as "eight hundred");
* letters said one by one are written as their names, since the model learnt letters inside
  words (a lone "a" is the article): all-capital initialisms ("FBI" -> "eff bee eye", "CEOs" ->
  "see ee ohs"), initialisms with periods ("U.K." -> "you kay"), initials ("J. R. Smith"), lone
  capitals ("plan B", "T-shirt"), a.m./p.m.; except acronyms said as words (NASA, NATO, UNESCO,
  laser: ``ACRONYMS_SAID_AS_WORDS``), short words in capitals for emphasis ("I said NO") and
  headlines written all in capitals;
* Roman numerals: regnal after a name ("Henry VIII" -> "Henry the eighth", "Elizabeth I"),
  cardinal after chapter, act, part, volume, book, war ... ("World War II" -> "world war two");
  the pronoun I, "MIX", "CIVIL" or "DC" are left alone;
* numbers through `num2words <https://pypi.org/project/num2words/>`_: cardinals ("1,234" ->
  "one thousand two hundred and thirty four"), ordinals, decimals, negative numbers, ranges
  ("3-4" -> "three to four", "1990-95"), fractions ("1/2" -> "one half", "2 3/4" -> "two and
  three quarters"), numbers with a leading zero digit by digit ("007");
* years where the context says so: after words such as *in*, *since*, *about* or a month name,
  after *the* before a singular noun ("the 2008 crisis", but "the 1500 soldiers"), and after a
  year and *and*/*or*/*to* ("in 1984 & 1985"); decades ("1990s"); dates ("Jan. 5, 1990" ->
  "january fifth, nineteen ninety", "5 May 1990" -> "the fifth of may nineteen ninety");
* money with cents, scales, ranges and currency codes ("$3.50" -> "three dollars fifty cents",
  "$2.5 million", "USD 2.5 billion", "£5-10 million", "50p"), said in the singular where the
  amount is an adjective ("a $5 million deal" -> "a five million dollar deal"); percentages;
  times ("12:30", "5 p.m.", "7.30pm");
* measures after a number ("6 ft. tall" -> "six feet tall", "1 kg", "20 °C", "a 10 km race" ->
  "a ten kilometer race"), feet and inches ("6'2\"" -> "six feet two inches", "5 ft 10 in"),
  with the period of the abbreviation consumed unless a sentence ends there;
* pages ("p. 52" -> "page fifty two", "pp. 52-60" -> "pages fifty two to sixty"); "St." as
  street after a name or number ("Baker St.", keeping the sentence end in "Baker St. Her
  brother ...") and saint before one ("St. Paul"), "Dr." likewise drive or doctor;
* symbols (``&`` -> "and") and abbreviations (Mr., Mrs., Prof., No., vs., etc., e.g. ...),
  expanded before sentences are split, so "Washington. Dr. Jones" splits after "Washington."
  only, while "etc.", "Inc." or "U.S." still end a sentence where the next word begins one;
* accents are stripped (café -> cafe), ``!`` reads as ``.``, curly quotes become ``'``.

Whatever is still outside the vocabulary becomes a space and is *reported* (``dropped``), never
silently lost. ``LIMITATIONS`` lists, in plain words, what the rules still get wrong.
``split_text`` cuts long text into pieces the model can read in one go; ``sentences_to_say``
reads the notebook's TTS_TEXT setting (else the ten garden-path sentences).
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata

VOCAB = "PE abcdefghijklmnopqrstuvwxyz'.?"  # P: padding, E: end of sentence (the released vocab)
PAD, EOS = VOCAB.index('P'), VOCAB.index('E')
MAX_N = 180  # the released model's longest text, in characters

# What the rules still get wrong, in plain words (notebook 2 shows this list).
LIMITATIONS = (
    'Short words written in capitals that are not on its word lists are spelled out as '
    'initialisms ("the MIX label" becomes "em eye ex"); a line written all in capitals is read '
    'as words, so an initialism with a vowel inside it ("CIA") is read as a word there.',
    'A Roman numeral after a title that is not a monarch\'s name is read as a regnal number '
    '("Rocky II" becomes "Rocky the second", not "Rocky two").',
    'House, flight, model and room numbers are read as quantities ("221B" becomes "two hundred '
    'and twenty one bee", "Boeing 737" "seven hundred and thirty seven").',
    'A four-digit year with no word around it that marks it as a year is read as a count '
    '("1984 was cold" becomes "one thousand nine hundred and eighty four").',
    '"m" after a number is always metres, never millions ("1.5m people").',
    'Words run together in web addresses are read as one word ("nytimes dot com").',
    'Ambiguous abbreviations take one reading: "Sr." is senior, never sister; "St." after a '
    'first name is a street ("Paul St. Clair"); "St." or "Dr." starting a sentence before a name '
    'is a saint or doctor.',
    'Amounts with cents used as adjectives stay plural ("a $3.50 coffee" becomes "a three '
    'dollars fifty cents coffee"); twenty-four-hour military times ("0900 hours") are read digit '
    'by digit.',
    'Words spelled alike but said differently ("read", "lead", "live") are left to the model, '
    'and commas, colons and dashes become spaces: the model has no symbol for a pause.',
    'Formulas, chemical names, emoji and non-English text are not said: their characters are '
    'dropped and reported.',
)

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

# Abbreviations with their period. Titles come before a name, so their period never ends a
# sentence; the others may end one ("... and Co. The firm"), which the next word decides.
_TITLES = {
    'mr': 'mister', 'mrs': 'missus', 'ms': 'miz', 'dr': 'doctor', 'drs': 'doctors', 'prof': 'professor',
    'rev': 'reverend', 'revd': 'reverend', 'hon': 'honorable', 'capt': 'captain', 'col': 'colonel',
    'gen': 'general', 'lt': 'lieutenant', 'sgt': 'sergeant', 'maj': 'major', 'gov': 'governor',
    'messrs': 'messieurs', 'mt': 'mount', 'ft': 'fort', 'pres': 'president', 'sen': 'senator',
    'rep': 'representative', 'fr': 'father', 'supt': 'superintendent', 'cpl': 'corporal',
    'adm': 'admiral', 'vs': 'versus', 'vol': 'volume', 'vols': 'volumes', 'ch': 'chapter',
    'chap': 'chapter', 'fig': 'figure', 'figs': 'figures', 'approx': 'approximately', 'cf': 'compare',
    'viz': 'namely', 'tel': 'telephone', 'nos': 'numbers',
}
_ENDERS = {
    'jr': 'junior', 'sr': 'senior', 'esq': 'esquire', 'co': 'company', 'ltd': 'limited',
    'inc': 'incorporated', 'corp': 'corporation', 'bros': 'brothers', 'dept': 'department',
    'govt': 'government', 'assn': 'association', 'univ': 'university', 'etc': 'et cetera',
}
_ABBREVIATIONS = _TITLES | _ENDERS  # kept for readers of earlier versions
_ABBREVIATION = re.compile(r'\b(%s)\.' % '|'.join(_ABBREVIATIONS), re.IGNORECASE)
# British style, without the period, before a name: "Mr Smith", "Prof Jones".
_TITLE_WITHOUT_PERIOD = re.compile(r'\b(Mr|Mrs|Ms|Prof|Revd|Capt|Sgt|Col|Gen|Lt|Fr)(?=\s+[A-Z])')
_VERSUS = re.compile(r'(?<=[A-Za-z] )v\.(?=\s+[A-Z])')  # Roe v. Wade
_LATIN = [(re.compile(r'\be\.g\.', re.I), 'for example'), (re.compile(r'\bi\.e\.', re.I), 'that is')]
_NUMBER_SIGN = re.compile(r'\bNo\.(?=\s*\d)', re.IGNORECASE)
_DEGREES_LETTER = re.compile(r'\b(degrees?)\s+([CF])\b(\.?)')

_REPLACEMENTS = {'’': "'", '‘': "'", '`': "'", '!': '.', '…': '.', '&': ' and ', '+': ' plus ',
                 '=': ' equals ', '@': ' at ', '#': ' number ', '×': ' by '}

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
    'tsp': ('teaspoon', 'teaspoons'), 'tbsp': ('tablespoon', 'tablespoons'), 'qt': ('quart', 'quarts'),
    'gal': ('gallon', 'gallons'), 'l': ('liter', 'liters'), 'L': ('liter', 'liters'),
    'kW': ('kilowatt', 'kilowatts'), 'MW': ('megawatt', 'megawatts'), 'GW': ('gigawatt', 'gigawatts'),
    'kWh': ('kilowatt hour', 'kilowatt hours'), 'sq ft': ('square foot', 'square feet'),
    'sq m': ('square meter', 'square meters'), 'km²': ('square kilometer', 'square kilometers'),
    'm²': ('square meter', 'square meters'), 'sq mi': ('square mile', 'square miles'),
    'kHz': ('kilohertz', 'kilohertz'), 'MHz': ('megahertz', 'megahertz'), 'KB': ('kilobyte', 'kilobytes'),
    'MB': ('megabyte', 'megabytes'), 'GB': ('gigabyte', 'gigabytes'), 'TB': ('terabyte', 'terabytes'),
    '°C': ('degree celsius', 'degrees celsius'), '°F': ('degree fahrenheit', 'degrees fahrenheit'),
    '°': ('degree', 'degrees'),
}
_NUMBER = r'\d[\d,]*(?:\.\d+)?'
_MEASURE = re.compile(r'(?<![$£€¥₹\w.,])(%s)(\s?|-)(%s)(?![\w/°])(\.?)' % (_NUMBER, '|'.join(
    re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))))
# 5 p.m., 10:30am, 7.30pm, 7 AM: the letters are said one by one.
_CLOCK_12 = re.compile(r'\b(\d{1,2})(?:[:.](\d\d))?\s?([AaPp])\.?\s?[Mm]\b(\.?)')
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


_NOT_FRACTIONS = {'24/7', '9/11', '7/11', '50/50', '20/20'}  # said "twenty four seven", "nine eleven"


def _fraction(match: re.Match) -> str:
    """1/2 -> 'one half', 3/4 -> 'three quarters', 2 1/2 -> 'two and a half'; 24/7 and 9/11 are
    not fractions."""
    whole, numerator, denominator = match.group(1), int(match.group(2)), int(match.group(3))
    if not whole and f'{numerator}/{denominator}' in _NOT_FRACTIONS:
        return f'{_words(numerator)} {_words(denominator)}'
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
    if before[-1].endswith('(') and re.match(r'\d{4}\)', text[start:]):  # "The Bill of Rights (1791)"
        return True
    if cue == 'the':  # "the 2008 crisis" (a year), "the 1500 soldiers" (a count)
        after = re.match(r'\d+\s+([A-Za-z]+)\b', text[start:])
        return bool(after and not after.group(1).endswith('s') and after.group(1) not in _NOT_A_NOUN)
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
    if all(re.fullmatch(r'1[1-9]\d\d|20\d\d', n) for n in (first, last)):
        return _words(int(first), to='year') + ' to ' + _words(int(last), to='year')
    if re.fullmatch(r'1[1-9]\d\d|20\d\d', first) and re.fullmatch(r'\d\d', last) and int(last) > int(first[2:]):
        return _words(int(first), to='year') + ' to ' + _words(int(last))  # 1990-95, 2019-20
    return first + ' to ' + last


_NUMBER_RULES = [
    (_NUMERIC_DATE, _numeric_date),
    (_DATE, _date),
    (re.compile(r'(?<![\w/.,])(?:(\d+)\s+)?(\d+)/(\d+)(?![\w/])'), _fraction),
    # ranges (a 5-year-old is not one: a letter follows the dash)
    (re.compile(r'(?<![\w.,])(\d[\d,.]*\d|\d)\s?[-–]\s?(\d[\d,.]*\d|\d)(?![\d-])'), _range),
    (re.compile(r'(?<![\w.,])[-\u2212](?=\d)'), lambda m: 'minus '),
    (re.compile(r'\b(\d{1,2}):(\d\d)\b'), lambda m: _clock(m.group(1), m.group(2))),
    (re.compile(r'(\d+)(?:\.(\d+))?\s?%'),
     lambda m: (_decimal(m.group(1), m.group(2)) if m.group(2) else _words(int(m.group(1)))) + ' percent'),
    (re.compile(r'\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b', re.IGNORECASE),
     lambda m: _words(int(m.group(1).replace(',', '')), to='ordinal')),
    (re.compile(r"(?<![\w.,])'?(\d+0)'?s\b"), lambda m: _plural(int(m.group(1)))),
    (re.compile(r'\b(\d+)\.(\d+)\b'), lambda m: _decimal(m.group(1), m.group(2))),
    (re.compile(r'(?<![\w.,])0\d+\b'), lambda m: say_digits(m.group(0))),  # 007, 0800: digit by digit
    (re.compile(r'\b\d{1,3}(?:,\d{3})+\b|\d+'), _number),
]


# --------------------------------------------------------------------------------------------
# Letters, initialisms and acronyms
# --------------------------------------------------------------------------------------------
# The model reads lower-case letters only and learnt them inside words: a lone "b" or "a" is not
# read as the letter's name ("a" is the article), so letters said one by one are written as
# their names.
LETTER_NAMES = {
    'a': 'ay', 'b': 'bee', 'c': 'see', 'd': 'dee', 'e': 'ee', 'f': 'eff', 'g': 'gee', 'h': 'aitch',
    'i': 'eye', 'j': 'jay', 'k': 'kay', 'l': 'el', 'm': 'em', 'n': 'en', 'o': 'oh', 'p': 'pee',
    'q': 'cue', 'r': 'ar', 's': 'ess', 't': 'tee', 'u': 'you', 'v': 'vee', 'w': 'double you',
    'x': 'ex', 'y': 'why', 'z': 'zee',
}
# All-capital abbreviations said as words, not letter by letter (NASA, not "en ay ess ay").
ACRONYMS_SAID_AS_WORDS = frozenset('''
    NASA NATO UNESCO UNICEF UNIFEM OPEC LASER RADAR SONAR SCUBA AIDS NAFTA ASEAN OSHA FEMA NIMBY SWAT
    AWOL PIN RAM ROM CAPTCHA COVID SARS MERS DARPA NORAD INTERPOL IKEA ISIS POTUS SCOTUS FLOTUS UEFA
    FIFA OFSTED OFCOM ACAS BAFTA MENSA OXFAM ANZAC SEATO CERN NASDAQ GEICO LEGO ABBA BASIC COBOL
    FORTRAN SIM WASP YOLO FOMO SNAFU GIF ZIP TOEFL PAC DEFRA QANTAS NOAA EPCOT UNIX LIDAR TASER SWAPO
    ASDA MOMA TEFL GULAG
'''.split())
# All-capital abbreviations with a spoken form of their own.
ACRONYMS_SAID_OTHERWISE = {
    'OK': 'okay', 'JPEG': 'jay peg', 'MPEG': 'em peg', 'NAACP': 'en double ay see pee',
    'IEEE': 'eye triple ee', 'NCAA': 'en see double ay', 'AAA': 'triple ay', 'WWI': 'world war one',
    'WWII': 'world war two', 'PhD': 'pee aitch dee', 'USAF': 'you ess air force',
}
# Short words that appear in capitals for emphasis ("I said NO"): read as words. Initialisms
# that are also words (US, IT, WHO, AM, PM, OR, ID) are spelled: news writes them far more often.
_CAPITAL_WORDS = frozenset('''
    NO NOT NOW YES STOP HELP VERY MUST WILL WAS ARE IS BE HE SHE WE YOU THEY HIM HER ME MY OUR THE
    AND BUT FOR ALL ANY ONE TWO GO DO DID CAN GET GOT HAD HAS HAVE HOW WHY WHAT WHEN THIS THAT THEM
    THEN THAN SO TOO OF ON IN TO BY UP OUT OFF OH AH EH HEY WOW OOPS REAL LIKE LOVE HATE WANT NEED
    KNOW SAID SAY SEE LOOK COME DEAD GONE BACK HOME LAST BEST MOST MORE LESS JUST ONLY EVER EVEN
    SURE FINE GOOD BAD BIG HUGE FAST SLOW HOT COLD WAIT RUN FIRE KILL OPEN SHUT EXIT SALE FREE NEW
    NEWS LIVE HERE EACH BOTH MUCH MANY SUCH SOME SAME WELL LONG ONCE WITH FROM INTO OVER YOUR HIS
    ITS ALSO WERE BEEN DONE MAKE MADE TAKE TOOK GIVE GAVE TELL TOLD NEXT ROAD WAY DAY DAYS YEAR
    TIME MAN MEN WOMAN GIRL BOY BOYS GOD LORD SIR HAM EGG EGGS MILK TEA BEER WINE BAR PUB CAFE
    KING QUEEN NOTE END ENDS WHERE WHICH WHILE THERE THESE THOSE ABOUT AFTER AGAIN NEVER ALWAYS
    CLOSED DANGER WARNING NOTICE ENTRANCE PUSH PULL KEEP LEFT RIGHT PARK ZONE AREA ONLY
'''.split())
# Words after which a capital letter is a letter, even A and I: "plan A", "vitamin C".
_LETTER_CUES = frozenset('plan grade type class vitamin letter section exhibit appendix schedule '
                         'group block gate terminal platform row level category size option team '
                         'wing unit box blood'.split())
_VOWELS = set('AEIOUY')


def spell_letters(letters: str) -> str:
    """Letters said one by one, as their names: 'FBI' -> 'eff bee eye' (case is ignored)."""
    names = [LETTER_NAMES[ch] for ch in letters.lower() if ch in LETTER_NAMES]
    if not names:
        raise ValueError(f'no letter to spell in {letters!r}')
    return ' '.join(names)


def _plural_name(spelled: str) -> str:
    """'see ee oh' -> 'see ee ohs' (CEOs); 'ess' -> 'esses', 'ex' -> 'exes', 'aitch' -> 'aitches'."""
    return spelled + ('es' if spelled.endswith(('ss', 'x', 'ch')) else 's')


def _at_sentence_start(text: str, position: int) -> bool:
    """Whether text[position] begins a sentence (not after an initial: the R of 'J. R. Smith')."""
    before = text[:position]
    return (re.search(r'(?:^|[.!?]["\'”’)\]]*\s+)["\'“‘(\[]*$', before) is not None
            and re.search(r'(?:^|\s)[A-Z]\.\s+$', before) is None)


def _capitalised_like(written_start: bool, spoken: str) -> str:
    return spoken[0].upper() + spoken[1:] if written_start else spoken


def _is_capital_word(token: str) -> bool:
    """A word in capitals that is a word, not an initialism: in the lists, or long and vowelled."""
    if token in ACRONYMS_SAID_AS_WORDS or token in _CAPITAL_WORDS:
        return True
    if len(token) < 5 or not _VOWELS & set(token):
        return False
    return re.search(r'[^AEIOUY]{4}', token) is None  # UNHCR, NSPCC, HTTPS are spelled


_CAPITAL_TOKEN = r"[A-Z][A-Z']*"
_SHOUTED = re.compile(r"\b%s(?:[\s,:;!?.&-]+%s){2,}\b" % (_CAPITAL_TOKEN, _CAPITAL_TOKEN))


def _shouted_spans(text: str) -> list[tuple[int, int]]:
    """Runs of three or more words in capitals with at least two plain words among them
    ("THE CIVIL WAR ENDS"): headline or shouted text, read as words. A list of initialisms
    ("FBI, CIA, NASA") is not one."""
    spans = []
    for match in _SHOUTED.finditer(text):
        words = re.findall(r"[A-Z][A-Z']*", match.group(0))
        plain = [w for w in words if w not in ACRONYMS_SAID_AS_WORDS and (
            w in _CAPITAL_WORDS or len(w) >= 5 and _is_capital_word(w))]
        if len(plain) >= 2:
            spans.append(match.span())
    return spans


# FBI, CEOs, FBI's (the 's is left in the text), Q&A; a lone capital, with the period of an initial
_ALL_CAPITALS = re.compile(r"(?<![\w@/.'’-])(?:(?P<phd>Ph\.?D\.?)|(?P<caps>[A-Z][A-Z&]*[A-Z])(?P<plural>s?)"
                           r"|(?P<letter>[A-Z])(?P<plural1>s?)(?P<initial>\.(?=\s+[\"“]?[A-Z]))?)"
                           r"(?=['’]s\b|(?![\w'’]))")
# MP3, G7, 4K, 3D: letters and digits apart, then each said as usual
_LETTERS_AND_DIGITS = re.compile(r'\b([A-Z]{1,4})(\d+)\b|\b(\d+)(?!ST\b|ND\b|RD\b|TH\b)([A-Z]{1,3})\b')


def _initialism(match: re.Match, shouted: list[tuple[int, int]]) -> str:
    text, start = match.string, match.start()
    at_start = _at_sentence_start(text, start)
    inside_shout = any(a <= start < b for a, b in shouted)
    if match.group('phd'):
        return _capitalised_like(at_start, 'pee aitch dee')
    if match.group('letter'):  # a lone capital letter
        token, plural, initial = match.group('letter'), match.group('plural1'), match.group('initial')
        before = text[:start].split()
        cue = before[-1].lower().strip('(,') if before else ''
        hyphen = text[match.end():match.end() + 1] == '-'
        if token in 'AI' and not (cue in _LETTER_CUES or initial or hyphen and token == 'A'):
            return match.group(0)  # the article "A", the pronoun "I"
        if inside_shout:
            return match.group(0)
        spoken = LETTER_NAMES[token.lower()]
        spoken = _capitalised_like(at_start, _plural_name(spoken) if plural else spoken)
        # "J. R. Smith": an initial, no sentence end; "plan B. Then ...": a sentence end
        keep = initial and before and before[-1][:1].islower() and _sentence_follows(text, match.end())
        return spoken + ('.' if keep else '')
    token, plural = match.group('caps'), match.group('plural')
    whole = token + plural
    if whole in ACRONYMS_SAID_OTHERWISE:
        return _capitalised_like(at_start, ACRONYMS_SAID_OTHERWISE[whole])
    if token in ACRONYMS_SAID_OTHERWISE:
        return _capitalised_like(at_start, ACRONYMS_SAID_OTHERWISE[token] + ('s' if plural else ''))
    if whole in ACRONYMS_SAID_AS_WORDS or token in ACRONYMS_SAID_AS_WORDS:
        return match.group(0)  # said as a word; the model lower-cases it
    if inside_shout and _VOWELS & set(token):
        return match.group(0)
    if _is_capital_word(whole) or plural and _is_capital_word(token):
        return match.group(0)
    spoken = ' and '.join(spell_letters(part) for part in token.split('&'))
    return _capitalised_like(at_start, _plural_name(spoken) if plural else spoken)


def _spell_initialisms(text: str) -> str:
    """All-capital initialisms letter by letter (FBI -> 'eff bee eye', CEOs -> 'see ee ohs'),
    except those said as words (NASA), capital words ("I said NO") and shouted headlines."""
    text = _LETTERS_AND_DIGITS.sub(
        lambda m: f'{m.group(1)} {m.group(2)}' if m.group(1) else f'{m.group(3)} {m.group(4)}', text)
    shouted = _shouted_spans(text)
    return _ALL_CAPITALS.sub(lambda m: _initialism(m, shouted), text)


def _dotted_initialism(match: re.Match) -> str:
    """U.K. -> 'you kay', a.m. -> 'ay em'; the last period ends a sentence only where one begins."""
    letters = match.group(1).replace('.', '')
    spoken = _capitalised_like(_at_sentence_start(match.string, match.start()), spell_letters(letters))
    return spoken + ('.' if _sentence_follows(match.string, match.end()) else '')


# Words that begin sentences far more often than they follow "U.S." or "etc." inside one.
_SENTENCE_STARTERS = frozenset('''
    The A An He She It They We I You His Her Its Their Our My Your This That These Those There Then
    But And So Yet Or In On At As After Before When While If Although Though Since Because Yes No
    What Who Why How Where Which Some Many Most All Each Every One Two Three Only Even Still Now
    Later Meanwhile However Instead Also Officials Police Mr Mrs Ms Dr
'''.split())


def _sentence_follows(text: str, position: int) -> bool:
    """Whether a period at text[position - 1] may end a sentence: nothing follows, or a word that
    usually begins one ('in the U.S. The ...', not 'the U.S. Army')."""
    rest = text[position:]
    if not rest.strip():
        return True
    word = re.match(r'\s+["\'“‘(\[]?([A-Z][a-z]*)\b', rest)
    return word is not None and word.group(1) in _SENTENCE_STARTERS


# --------------------------------------------------------------------------------------------
# Roman numerals
# --------------------------------------------------------------------------------------------
_ROMAN_VALUES = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}
_VALID_ROMAN = re.compile(r'M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})')


def roman_to_int(numeral: str) -> int | None:
    """The value of a well-formed Roman numeral ('XIV' -> 14, 'xiv' -> 14), else None ('MIXI')."""
    numeral = numeral.upper()
    if not numeral or not _VALID_ROMAN.fullmatch(numeral):
        return None
    values = [_ROMAN_VALUES[ch] for ch in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


# Words after which a numeral is a number said as a cardinal: "World War II", "Chapter IV".
_ROMAN_CARDINAL_CUES = frozenset('''
    chapter chapters act acts part parts volume volumes vol book books war scene scenes section
    sections article articles phase stage type class level title series canto episode episodes
    psalm psalms clause round bowl vatican mark mk division tier page pages p pp olympiad
    appendix schedule annex figure fig table plate movement
'''.split())
# Regnal names: after these even "I" is a numeral ("Elizabeth I", "Charles I").
_REGNAL_NAMES = frozenset('''
    Henry Edward George William Elizabeth Charles Louis James Richard John Mary Anne Victoria Peter
    Catherine Frederick Philip Napoleon Alexander Nicholas Ivan Pius Benedict Gregory Leo Innocent
    Clement Paul Francis Ferdinand Isabella Alfonso Carlos Juan Felipe Gustav Gustavus Christian Olaf
    Harald Haakon Wilhelm Otto Ludwig Rudolf Leopold Joseph Pedro Manuel Umberto Constantine
    Justinian Ramesses Ramses Thutmose Amenhotep Darius Xerxes Cyrus Antiochus Ptolemy Selim
    Suleiman Mehmed Murad Boniface Urban Sixtus Julius Adrian Hadrian Edmund Malcolm David Robert
    Duncan Kenneth Stephen Henri Sancho Casimir Sigismund Stanislaus Wenceslas Ladislaus Matthias
    Maximilian Baldwin Bohemond Tancred Amadeus Albert Baudouin Willem Margaret Christina Ulrika
'''.split())
# After "Charles I", these words show the I is the pronoun ("When Charles I said ...").
_PRONOUN_FOLLOWERS = frozenset('''
    am think thought said say know knew will would could can did do must should saw see went felt
    feel told asked want wanted love loved hope guess mean believe heard found got need like wonder
    suppose remember shall might may
'''.split())
_I_AFTER_LOWER_CASE_CUES = frozenset({'type', 'class', 'phase', 'stage'})  # "type I diabetes"
_I_VERBS = frozenset({'like', 'have', 'had', 'was', 'am', 'prefer', 'use', 'used', 'chose'})
_I_AFTER_LOWER_CASE_CUES = frozenset({'type', 'class', 'phase', 'stage'})  # "type I diabetes"
_I_VERBS = frozenset({'like', 'have', 'had', 'was', 'am', 'prefer', 'use', 'used', 'chose'})
_ROMAN = re.compile(r"(?<![\w'’.-])([IVXLCDM]+|[ivxlcdm]+)\b(?![.'’]?\w)|(?<![\w'’.-])([IVXLCDM]+)(?=['’]s\b)")


def _roman(match: re.Match) -> str:
    numeral = match.group(1) or match.group(2)
    value = roman_to_int(numeral)
    if value is None:
        return match.group(0)
    text, start = match.string, match.start()
    before = text[:start].split()
    previous = before[-1] if before else ''
    cue = previous.lower().rstrip('.').strip('(')
    after = text[match.end():].split()
    following = after[0].lower().strip(',.;:!?') if after else ''
    if cue in _ROMAN_CARDINAL_CUES and (len(numeral) > 1 or numeral.upper() in 'IVX'):
        if numeral.upper() != 'I' or previous[:1].isupper() or (
                cue in _I_AFTER_LOWER_CASE_CUES and following not in _PRONOUN_FOLLOWERS | _I_VERBS):
            return _words(value)  # World War II, Chapter IV, Part I, type I diabetes, pp. xii
        return match.group(0)  # the pronoun: "the book I read"
    if not numeral.isupper() or not re.fullmatch(r'[A-Z][a-z]+', previous.rstrip(',')) or previous.endswith(','):
        return match.group(0)
    if previous in _SENTENCE_STARTERS or not set(numeral) <= set('IVX') or value >= 40:
        return match.group(0)  # "In IV", "Washington DC", "MIX"
    if len(numeral) == 1 and (previous not in _REGNAL_NAMES or following in _PRONOUN_FOLLOWERS
                              or f'{previous} {numeral}' == 'Malcolm X'):
        return match.group(0)  # the pronoun: "Then I", "Charles I said"; Malcolm X
    return 'the ' + _words(value, to='ordinal')  # Henry VIII, Louis XIV, Elizabeth I


# --------------------------------------------------------------------------------------------
# Telephone numbers, web and e-mail addresses: read character by character
# --------------------------------------------------------------------------------------------
_DIGIT_NAMES = 'zero one two three four five six seven eight nine'.split()


def say_digits(digits: str) -> str:
    """'4567' -> 'four five six seven' (anything but digits is skipped)."""
    return ' '.join(_DIGIT_NAMES[int(d)] for d in digits if d.isdigit())


_PHONE = re.compile(r'''(?<![\w+$£€.,/-])(?:
      \+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?=[\s.,;:!?)]|$)             # +1 555 123 4567, +44 (20) 7946 0958
    | (?:1[\s.-])?\(\d{3}\)\s?\d{3}[\s.-]\d{4}                            # (555) 123-4567
    | (?:1[.-])?\d{3}[.-]\d{3}[.-]\d{4}                                   # 555-123-4567, 1-800-555-0199
    | 0\d{2,4}\s\d{3,4}\s?\d{3,4}                                         # 020 7946 0958
    )(?![\w-])''', re.X)
_LOCAL_PHONE = re.compile(r'(?i)\b(call|phone|telephone|tel|dial|fax|ring|text|number|line)(\.?:?\s+(?:on\s+|at\s+)?)'
                          r'(\d{3}-\d{4})\b(?![\w-])')


def _phone(number: str) -> str:
    """'+1 555-123-4567' -> 'plus one five five five one two three four five six seven';
    toll-free 800 as 'eight hundred'."""
    groups = re.findall(r'\+|\d+', number)
    spoken = []
    for group in groups:
        if group == '+':
            spoken.append('plus')
        elif re.fullmatch(r'[89]00', group) and len(groups) > 2:
            spoken.append(_words(int(group)))
        else:
            spoken.append(say_digits(group))
    return ' '.join(spoken)


def _phone_match(match: re.Match) -> str:
    digits = re.sub(r'\D', '', match.group(0))
    if match.group(0).startswith('+') and not 8 <= len(digits) <= 15:
        return match.group(0)
    return _phone(match.group(0))


_TOP_LEVEL_DOMAINS = ('com org net edu gov mil int info biz io ai co uk us ca au de fr es it nl '
                      'eu ie nz in jp cn ru br ch se no dk fi be at pl pt za news tv me app dev ly')
# Short labels of addresses said as words; other labels of three letters or fewer are spelled.
_SAID_AS_WORDS_ONLINE = {'com', 'org', 'net', 'gov', 'edu', 'info', 'biz', 'co', 'news', 'app', 'dev', 'mil',
                         'web', 'new', 'my', 'the', 'top', 'get', 'go', 'art', 'fun', 'pay', 'shop', 'mail',
                         'blog', 'home', 'jobs', 'me', 'int'}
_URL = re.compile(r'''(?ix)(?<![\w@.-])(?:
      (?:https?://|ftp://)[^\s<>"]+                                    # with a scheme
    | www\.[^\s<>"]+                                                   # www.
    | [a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:%s)\b(?:/[^\s<>"]*)?     # example.co.uk/news
    )''' % _TOP_LEVEL_DOMAINS.replace(' ', '|'))
_EMAIL = re.compile(r'(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+', re.ASCII)
_ONLINE_SYMBOLS = {'.': 'dot', '/': 'slash', '-': 'dash', '_': 'underscore', '@': 'at', '+': 'plus',
                   '?': 'question mark', '=': 'equals', '&': 'and', '#': 'hash', '%': 'percent',
                   '~': 'tilde', ':': 'colon'}


def _say_online_word(word: str, host: bool) -> str:
    """One label of an address: digits one by one; vowel-less labels spelled, and in the host
    name short ones too ('bbc', 'fbi', 'uk'); others read as words ('dailyherald', 'com', 'doe')."""
    parts = re.findall(r'\d+|[^\d]+', word)
    spoken = []
    for part in parts:
        lower = part.lower()
        if part.isdigit():
            spoken.append(say_digits(part))
        elif lower == 'www':
            spoken.append('double you double you double you')
        elif lower in _SAID_AS_WORDS_ONLINE:
            spoken.append(lower)
        elif host and len(part) <= 3 or not set(lower) & set('aeiouy'):
            spoken.append(spell_letters(part))
        else:
            spoken.append(lower)
    return ' '.join(spoken)


def say_address(address: str) -> str:
    """A web or e-mail address as it is said: 'www.bbc.co.uk/news' -> 'double you double you
    double you dot bee bee see dot co dot you kay slash news'; the scheme (https://) is not said."""
    address = re.sub(r'(?i)^(?:https?|ftp)://', '', address).rstrip('/')
    host = '@' not in address  # an e-mail's host comes after its @; a web address's before its /
    spoken = []
    for piece in re.split(r'([./\-_@+?=&#%~:])', address):
        if piece == '@':
            host = True
        elif piece in ('/', '?', '#'):
            host = False
        if piece:
            spoken.append(_ONLINE_SYMBOLS.get(piece) or _say_online_word(piece, host))
    return ' '.join(spoken)


def _address(match: re.Match) -> str:
    address = match.group(0)
    trailing = re.search(r'[.,;:!?)\]\'"]+$', address)  # the sentence's punctuation, not the address's
    tail = trailing.group(0) if trailing else ''
    address = address[:len(address) - len(tail)]
    if not re.search(r'[a-zA-Z]', address) or re.fullmatch(r'(?:[A-Za-z]\.)+[A-Za-z]?', address):
        return match.group(0)  # U.S.A. and the like are not addresses
    return ' ' + say_address(address) + ' ' + tail


# --------------------------------------------------------------------------------------------
# Pages, feet and inches, streets and saints
# --------------------------------------------------------------------------------------------
_PAGES = re.compile(r'\b(pp|pgs?|p)\.\s?(?=\d|[ivxlc]+\b)')
_FEET_INCHES = re.compile(
    r'(?<![\w.\'’])(\d{1,2})\s?[\'’′]\s?(\d{1,2}(?:\.\d+)?)\s?(?:"|”|″|\'\'|’’)?(?![\w\'’])'
    r'|(?<![\w.])(\d{1,2})\s?(?:ft|feet|foot)\.?\s?(\d{1,2}(?:\.\d+)?)\s?(?:in|ins|inches|inch)\b(\.?)')
_FEET_ONLY = re.compile(r'(?<![\w.\'’])(\d+(?:\.\d+)?)\s?(?:′|\'(?=\s+(?:tall|high|long|wide|deep)\b))')
_INCHES_ONLY = re.compile(r'(?<![\w.])(\d+(?:\.\d+)?)\s?(″|")(?=\s+[a-z]|[\s,.;:-]*$|-)')


def _feet_inches(match: re.Match) -> str:
    feet, inches = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    period = _keep_period(match, 5) if match.group(3) else ''
    feet_word = 'foot' if feet == '1' else 'feet'
    if inches in ('0', '00'):
        return f'{feet} {feet_word}{period}'
    return f'{feet} {feet_word} {inches} {"inch" if inches == "1" else "inches"}{period}'


def _inches_only(match: re.Match) -> str:
    if match.group(2) == '"' and match.string[:match.start()].count('"') % 2:
        return match.group(0)  # it closes a quotation: '"I have 5"'
    singular = match.group(1) == '1' or _attributive(match.string, match.start(), match.end())
    return f'{match.group(1)} {"inch" if singular else "inches"}'  # a 12" ruler: a twelve inch ruler


# Words that begin a sentence or a phrase: "In St. Louis" is still a saint.
_FUNCTION_WORDS = frozenset('''
    In At To From Of The On Near By And For With Into Onto Via Past Outside Inside Behind Beyond
    Across Along Toward Towards Through Off Up Down Over Under Around Between Than A An Old New
'''.split())


def _after_a_name(text: str, position: int) -> bool:
    """Whether the word before text[position] is a name or a number: 'Baker St.', '5th Ave.'."""
    before = text[:position].split()
    if not before:
        return False
    word = before[-1]
    if re.fullmatch(r'\d+(?:st|nd|rd|th)?|[A-Z]\d*', word):
        return True
    return (re.fullmatch(r"[A-Z][A-Za-z'’-]+", word) is not None and word not in _FUNCTION_WORDS
            and not _at_sentence_start(text, position - len(word) - 1))


_STREET_TYPES = {'st': ('street', 'saint'), 'dr': ('drive', 'doctor'), 'ave': ('avenue', None),
                 'rd': ('road', None), 'blvd': ('boulevard', None), 'ln': ('lane', None),
                 'sq': ('square', None), 'pl': ('place', None), 'hwy': ('highway', None)}
_STREET_OR_TITLE = re.compile(r'\b(St|Dr|Ave|Rd|Blvd|Ln|Sq|Pl|Hwy)(\.?)(?![\w\'’])')


def _street_or_title(match: re.Match) -> str:
    """St. is a street after a name or a number ('Baker St.', '5th St.') and a saint before a name
    ('St. Paul'); Dr. likewise drive or doctor. The street's period ends a sentence where one may
    end ('Baker St. Her brother ...'); a title's never does."""
    street, title = _STREET_TYPES[match.group(1).lower()]
    text, period = match.string, match.group(2)
    rest = text[match.end():]
    if _after_a_name(text, match.start()):
        return street + ('.' if period and _ENDS_HERE.match(text, match.end()) else '')
    if title and (period or re.match(r'\s+[A-Z]', rest)):
        return title.capitalize() + ('.' if period and not rest.strip() else '')
    return match.group(0)  # "Pl", "Sq" on their own: not ours to guess


# --------------------------------------------------------------------------------------------
# Money: symbols, codes, scales; "a $5 million deal" says "dollar"
# --------------------------------------------------------------------------------------------
_DOLLARS = ('dollar', 'dollars', 'cent', 'cents')
_CURRENCIES = {
    '$': _DOLLARS, '£': ('pound', 'pounds', 'penny', 'pence'), '€': ('euro', 'euros', 'cent', 'cents'),
    '¥': ('yen', 'yen', None, None), '₹': ('rupee', 'rupees', 'paisa', 'paise'),
    'US$': ('you ess dollar', 'you ess dollars', 'cent', 'cents'),
    'A$': ('australian dollar', 'australian dollars', 'cent', 'cents'),
    'C$': ('canadian dollar', 'canadian dollars', 'cent', 'cents'),
    'HK$': ('hong kong dollar', 'hong kong dollars', 'cent', 'cents'),
    'NZ$': ('new zealand dollar', 'new zealand dollars', 'cent', 'cents'),
    'S$': ('singapore dollar', 'singapore dollars', 'cent', 'cents'),
}
_CURRENCY_CODES = {'USD': 'US$', 'EUR': '€', 'GBP': '£', 'JPY': '¥', 'INR': '₹', 'AUD': 'A$', 'CAD': 'C$',
                   'HKD': 'HK$', 'NZD': 'NZ$', 'SGD': 'S$'}
_CURRENCIES |= {'CNY': ('yuan', 'yuan', None, None), 'CHF': ('swiss franc', 'swiss francs', None, None),
                'SEK': ('swedish krona', 'swedish kronor', None, None), 'RUB': ('rouble', 'roubles', None, None)}
_SCALES = {'thousand': 'thousand', 'million': 'million', 'billion': 'billion', 'trillion': 'trillion',
           'k': 'thousand', 'm': 'million', 'bn': 'billion', 'tn': 'trillion'}
_SYMBOL = r'(?:US\$|A\$|C\$|HK\$|NZ\$|S\$|[$£€¥₹])'
_CODE = r'(?:%s)' % '|'.join(sorted(set(_CURRENCY_CODES) | {'CNY', 'CHF', 'SEK', 'RUB'}))
_SCALE = r'(?:thousand|million|billion|trillion|bn|tn|k|m)'
# Words after an amount that show it is not used as an adjective ("$5 of", "$5 each").
_NOT_A_NOUN = frozenset('''
    of in on to for from and or but per a an the by at each apiece with is was were are be been
    will would could should can may might must has have had than that which who this these those
    tall long high wide deep thick away old across ahead behind off down up into over under more
    less too so as if when while after before since until plus minus times worth
'''.split())
_DETERMINERS = frozenset('a an the this that his her its their our my your every each another'.split())


def _attributive(text: str, start: int, end: int) -> bool:
    """Whether the amount at text[start:end] is used as an adjective: 'a $5 million deal', 'a 3 in.
    nail', 'the 10 km race' (a determiner before it, a noun after it)."""
    before = text[:start].split()
    after = re.match(r'[\s-]+([a-z]+)\b', text[end:])
    return bool(before and before[-1].lower() in _DETERMINERS and after
                and after.group(1) not in _NOT_A_NOUN)


def _currency(match: re.Match) -> tuple[str, ...]:
    key = match.group('sym') or match.group('code') or match.group('code2')
    return _CURRENCIES[_CURRENCY_CODES.get(key, key)]


def _money(match: re.Match) -> str:
    """$3.50 -> 'three dollars fifty cents', $2.5 million -> 'two point five million dollars',
    USD 5 -> 'five you ess dollars', 'a $5m deal' -> 'a five million dollar deal'."""
    one, many, sub_one, sub_many = _currency(match)
    number, scale = match.group('num'), match.group('scale')
    whole, _, fraction = number.replace(',', '').partition('.')
    adjective = _attributive(match.string, match.start(), match.end())
    if scale:
        return f'{_say(number)} {_SCALES[scale.lower()]} {one if adjective else many}'
    if fraction and (len(fraction) != 2 or sub_one is None):
        return _decimal(whole, fraction) + ' ' + many
    whole, cents = int(whole), int(fraction or 0)
    spoken = [_words(whole) + ' ' + (one if whole == 1 or adjective and not cents else many)] \
        if whole or not cents else []
    if cents:
        spoken.append(_words(cents) + ' ' + (sub_one if cents == 1 else sub_many))
    return ' '.join(spoken)


def _money_range(match: re.Match) -> str:
    """$10-20 -> 'ten to twenty dollars', £5-10 million -> 'five to ten million pounds'."""
    one, many, _, _ = _CURRENCIES[_CURRENCY_CODES.get(match.group('sym'), match.group('sym'))]
    scale = match.group('scale')
    unit = one if _attributive(match.string, match.start(), match.end()) else many
    return (f'{_say(match.group("num"))} to {_say(match.group("num2"))} '
            + (f'{_SCALES[scale.lower()]} ' if scale else '') + unit)


_MONEY_RULES = [
    (re.compile(r'(?P<sym>%s)\s?(?P<num>%s)\s?[-–]\s?%s?(?P<num2>%s)(?:\s?(?P<scale>%s)\b)?'
                % (_SYMBOL, _NUMBER, _SYMBOL, _NUMBER, _SCALE), re.IGNORECASE), _money_range),
    (re.compile(r'(?:(?P<sym>%s)|\b(?P<code>%s)\s?)(?P<num>%s)(?:\s?(?P<scale>%s)\b)?(?P<code2>)'
                % (_SYMBOL, _CODE, _NUMBER, _SCALE)), _money),
    (re.compile(r'(?<![\w.,])(?P<num>%s)(?:\s?(?P<scale>thousand|million|billion|trillion|bn|tn))?\s?'
                r'\b(?P<code2>%s)\b(?P<sym>)(?P<code>)' % (_NUMBER, _CODE)), _money),
    (re.compile(r'(?<![\w.,])(\d+)p\b'), lambda m: _words(int(m.group(1))) + (' penny' if m.group(1) == '1'
                                                                            else ' pence')),
    (re.compile(r'(?<![\w.,])(\d+)\s?¢'), lambda m: _words(int(m.group(1))) + (' cent' if m.group(1) == '1'
                                                                             else ' cents')),
]


def _measure(match: re.Match) -> str:
    """6 ft. tall -> '6 feet tall' (the number is spelled later), 1 kg -> '1 kilogram', a 10 km
    race -> 'a 10 kilometer race', a 3-inch nail."""
    one, many = _UNITS[match.group(3)]
    singular = (match.group(1) == '1' or match.group(2) == '-'
                or _attributive(match.string, match.start(), match.end()))
    return f'{match.group(1)} {one if singular else many}{_keep_period(match, 4)}'


def _same_case(written: str, spoken: str) -> str:
    """Keep a capital (it may start a sentence): 'Dr' -> 'Doctor', 'dr' -> 'doctor'."""
    return spoken[0].upper() + spoken[1:] if written[:1].isupper() else spoken


def _ender(match: re.Match) -> str:
    """An abbreviation's word; a title's period is consumed, another's kept where a sentence ends."""
    key = match.group(1).lower()
    spoken = _same_case(match.group(1), _ABBREVIATIONS[key])
    rest = match.string[match.end():]
    if not rest.strip():
        return spoken + '.'
    if key in _ENDERS and (_ENDS_HERE.match(rest) if key == 'etc' else _sentence_follows(match.string, match.end())):
        return spoken + '.'
    return spoken


def expand(text: str) -> str:
    """Say symbols, abbreviations and numbers in words; keep the text's punctuation and case."""
    # addresses and telephone numbers first: their dots, dashes and digits are not sentences or sums
    text = _EMAIL.sub(_address, text)
    text = _URL.sub(_address, text)
    text = _PHONE.sub(lambda m: ' ' + _phone_match(m) + ' ', text)
    text = _LOCAL_PHONE.sub(lambda m: m.group(1) + m.group(2) + _phone(m.group(3)), text)
    for pattern, spoken in _LATIN:
        text = pattern.sub(spoken, text)
    text = _PAGES.sub(lambda m: 'page ' if m.group(1) == 'p' or m.group(1) == 'pg' else 'pages ', text)
    text = _FEET_INCHES.sub(_feet_inches, text)
    text = _FEET_ONLY.sub(lambda m: f'{m.group(1)} {"feet" if m.group(1) != "1" else "foot"}', text)
    text = _INCHES_ONLY.sub(_inches_only, text)
    text = _MONTH_ABBREVIATION.sub(lambda m: _MONTH_ABBREVIATIONS[m.group(1).lower()].capitalize(), text)
    text = _DEGREES_LETTER.sub(lambda m: f'{m.group(1)} {"celsius" if m.group(2) == "C" else "fahrenheit"}'
                                         f'{_keep_period(m, 3)}', text)
    text = re.sub(r'(?<![\w.,])[-\u2212](?=%s\d)' % _SYMBOL, 'minus ', text)
    for pattern, spell in _MONEY_RULES:  # before the initialisms (USD) and the measures (GBP 3m)
        text = pattern.sub(lambda m: ' ' + spell(m) + ' ', text)
    text = _MEASURE.sub(_measure, text)  # before the abbreviations: 6 ft. is six feet, Ft. Worth a fort
    text = _CLOCK_12.sub(lambda m: f'{_clock(m.group(1), None if m.group(2) == "00" else m.group(2))} '
                                   f'{spell_letters(m.group(3))} em'
                                   f'{_keep_period(m, 4)}', text)
    text = _ROMAN.sub(_roman, text)
    text = _INITIALISM.sub(_dotted_initialism, text)
    text = _spell_initialisms(text)
    text = _STREET_OR_TITLE.sub(_street_or_title, text)
    text = _TITLE_WITHOUT_PERIOD.sub(lambda m: _TITLES[m.group(1).lower()].capitalize(), text)
    text = _VERSUS.sub('versus', text)
    text = _NUMBER_SIGN.sub(lambda m: _same_case(m.group(0), 'number'), text)
    text = _ABBREVIATION.sub(_ender, text)
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
    return _in_vocabulary(expand(_without_accents(text)), text)


def _without_accents(text: str) -> str:
    return ''.join(ch for ch in unicodedata.normalize('NFD', text) if unicodedata.category(ch) != 'Mn')


def _in_vocabulary(spoken: str, text: str) -> NormalizedText:
    """Expanded text (``expand``) in the model's alphabet; ``text`` names it in errors."""
    spoken = _without_accents(spoken).lower()
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
    return _sentences(expand(text))


def _sentences(text: str) -> list[str]:
    """Sentences of text that is already said in words."""
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if not _INITIAL.search(text[:end.start() + 1]):
            sentences.append(text[start:end.end()])
            start = end.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _spoken_length(piece: str) -> int:
    try:
        return len(_in_vocabulary(piece, piece).text)
    except ValueError:
        return 0  # nothing speakable (a lone dash): costs nothing; its characters are reported


def split_text(text: str, max_chars: int = MAX_N - 1) -> list[str]:
    """Pieces of ``text``, said in words (``expand``: numbers, abbreviations, addresses ...),
    whose normalised form has at most ``max_chars`` characters.

    The text is expanded once, before it is cut, so that no piece is expanded twice or read out
    of its context (a "gov." cut from "fbi dot gov." is not a governor). Splits at sentence ends
    first, then at phrase marks (, ; : dashes), then between words, and packs neighbours back
    together while they fit. Nothing is dropped: a single "word" longer than the limit is cut
    into parts. The default leaves room for the end symbol E in MAX_N. ``prepare_text`` turns
    the pieces into the model's alphabet.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError('empty text: give the synthesiser at least one word to say')

    def break_down(piece, level):
        if _spoken_length(piece) <= max_chars:
            return [piece]
        if level == 0:
            parts = _sentences(piece)
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
    for piece in break_down(expand(text.strip()), 0):
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
            normalized = _in_vocabulary(raw, raw)
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
