"""Page texts in Polish (the default) and English, and choosing between them."""

from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("pl", "en")

TEXTS: dict[str, dict[str, str]] = {
    "pl": {
        "site": "Konto szkolne",
        "access_title": "Dostęp do konta szkolnego",
        "access_intro": "Podaj swój numer PESEL albo adres e-mail zapisany w dzienniku (UONET)."
        " Na adres e-mail z dziennika wyślemy wiadomość z loginem i linkiem do ustawienia hasła.",
        "access_first": "Przy pierwszym logowaniu, zanim konto zostanie aktywowane, podaj numer"
        " PESEL: adres e-mail zadziała dopiero później.",
        "identifier": "PESEL lub adres e-mail",
        "identifier_hint": "Na przykład 15230412345 albo jan.kowalski@example.pl",
        "send": "Wyślij link",
        "sent_title": "Sprawdź pocztę",
        "sent_body": "Jeśli podane dane pasują do konta, w ciągu kilku minut na adres e-mail"
        " zapisany w dzienniku przyjdzie wiadomość z loginem i linkiem do ustawienia hasła."
        " Link działa {minutes} min i tylko raz.",
        "sent_spam": "Wiadomość może trafić do folderu SPAM (wiadomości niechciane) —"
        " zajrzyj tam, jeśli nie widzisz jej w skrzynce odbiorczej.",
        "sent_none": "Jeśli wiadomość nie przyjdzie, poproś wychowawcę o sprawdzenie adresu"
        " e-mail w dzienniku.",
        "again": "Wyślij jeszcze raz",
        "required": "Wpisz numer PESEL albo adres e-mail.",
        "password_title": "Ustaw hasło",
        "login": "Login",
        "new_password": "Nowe hasło",
        "confirm_password": "Powtórz hasło",
        "rules_title": "Hasło musi:",
        "rule_too_short": "mieć co najmniej {min} znaków,",
        "rule_contains_login": "nie zawierać loginu,",
        "rule_contains_name": "nie zawierać imienia ani nazwiska,",
        "rule_contains_pesel": "nie zawierać numeru PESEL,",
        "rule_common": "nie być popularnym hasłem (jak „qwerty123” czy „Polska2024!”).",
        "rule_tip": "Dobre hasło to kilka przypadkowych słów, np. „zielony rower pod chmurą”.",
        "save": "Ustaw hasło",
        "errors_title": "Hasło nie spełnia wymagań",
        "err_too_short": "Hasło jest za krótkie: potrzeba co najmniej {min} znaków.",
        "err_contains_login": "Hasło zawiera login.",
        "err_contains_name": "Hasło zawiera imię lub nazwisko.",
        "err_contains_pesel": "Hasło zawiera numer PESEL.",
        "err_common": "To hasło jest zbyt popularne i łatwo je odgadnąć.",
        "err_mismatch": "Hasła w obu polach się różnią.",
        "err_refused": "Serwer katalogu odrzucił to hasło: {reason}",
        "done_title": "Hasło ustawione",
        "done_body": "Możesz się teraz zalogować loginem {login} i nowym hasłem.",
        "invalid_title": "Link jest nieważny",
        "invalid_body": "Ten link wygasł, został już użyty albo wysłano nowszy. Podaj PESEL lub"
        " adres e-mail, a wyślemy nowy.",
        "csrf_title": "Formularz wygasł",
        "csrf_body": "Odśwież stronę i spróbuj jeszcze raz.",
        "not_found": "Nie ma takiej strony.",
        "switch": "English",
    },
    "en": {
        "site": "School account",
        "access_title": "Access to your school account",
        "access_intro": "Enter your PESEL number or the e-mail address the school register"
        " (UONET) has for you. We will send your login and a link to set your password to the"
        " address in the register.",
        "access_first": "The first time, before the account is activated, enter your PESEL:"
        " the e-mail address works only later.",
        "identifier": "PESEL or e-mail address",
        "identifier_hint": "For example 15230412345 or jan.kowalski@example.pl",
        "send": "Send the link",
        "sent_title": "Check your e-mail",
        "sent_body": "If what you entered matches an account, a message with your login and a"
        " link to set your password will arrive within a few minutes at the address in the"
        " register. The link works for {minutes} minutes and only once.",
        "sent_spam": "The message may land in your spam folder: look there if it is not in"
        " your inbox.",
        "sent_none": "If no message arrives, ask the class teacher to check the e-mail"
        " address in the register.",
        "again": "Send again",
        "required": "Enter a PESEL number or an e-mail address.",
        "password_title": "Set your password",
        "login": "Login",
        "new_password": "New password",
        "confirm_password": "Repeat the password",
        "rules_title": "The password must:",
        "rule_too_short": "have at least {min} characters,",
        "rule_contains_login": "not contain your login,",
        "rule_contains_name": "not contain your first or last name,",
        "rule_contains_pesel": "not contain your PESEL number,",
        "rule_common": "not be a common password (like “qwerty123” or “Poland2024!”).",
        "rule_tip": "A good password is a few random words, e.g. “green bicycle under a cloud”.",
        "save": "Set the password",
        "errors_title": "The password does not meet the rules",
        "err_too_short": "The password is too short: at least {min} characters are needed.",
        "err_contains_login": "The password contains your login.",
        "err_contains_name": "The password contains your first or last name.",
        "err_contains_pesel": "The password contains your PESEL number.",
        "err_common": "This password is too common and easy to guess.",
        "err_mismatch": "The two passwords differ.",
        "err_refused": "The directory refused this password: {reason}",
        "done_title": "Password set",
        "done_body": "You can now sign in with the login {login} and your new password.",
        "invalid_title": "This link is not valid",
        "invalid_body": "The link has expired, has been used, or a newer one was sent. Enter"
        " your PESEL or e-mail address and we will send a new one.",
        "csrf_title": "The form has expired",
        "csrf_body": "Reload the page and try again.",
        "not_found": "There is no such page.",
        "switch": "Polski",
    },
}


def choose(request: Request, default: str) -> str:
    """``?lang=`` first, then the browser's Accept-Language, then the site default."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    best, best_q = None, 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best or default


def translator(lang: str):
    texts = TEXTS[lang]

    def t(key: str, **values) -> str:
        return texts[key].format(**values) if values else texts[key]

    return t
