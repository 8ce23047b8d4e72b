#!/usr/bin/python3
"""Write the demo Maildir tree under doc/demo/Mail from the messages described here.

Run once by a developer when the demo changes; the result is committed. Deterministic: the
same script gives the same files (names and contents)."""
import base64, os, shutil, sys
from email.header import Header
from email.utils import format_datetime

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "doc", "demo", "Mail")
BASE = 1794300000            # 2026-11-10: the newest demo message is a few days old
ME = "Ann Example <ann@example.org>"

def enc(text, charset="utf-8"):
    """An RFC 2047 encoded word (or several) for non-ASCII header text."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return Header(text, charset).encode()

def addr(name, mail, charset="utf-8"):
    return "%s <%s>" % (enc(name, charset), mail) if name else mail

def hdr_addr(a):
    """Encode the display name of "Name <mail>" when it is not ASCII."""
    if "<" in a and not a.isascii():
        name, mail = a.rsplit("<", 1)
        return addr(name.strip(), mail.rstrip(">"))
    return a

def date(t):
    """RFC 5322 date in one of a few zones, so that the demo shows conversion to local time."""
    from datetime import datetime, timedelta, timezone
    zone = timezone(timedelta(hours=(0, 1, -5, 9, 3)[t // 3600 % 5]))
    return format_datetime(datetime.fromtimestamp(BASE + t, zone))

messages = []   # (folder, flags, time, text)

def msg(folder, t, frm, to, subject, body, flags="S", cc=None, mid=None, reply=None,
        charset="utf-8", extra=(), ctype=None):
    h = ["Return-Path: <%s>" % frm.split("<")[-1].rstrip(">"),
         "Received: from mx.example.org (mx.example.org [192.0.2.25])\n\tby mail.example.org"
         " with ESMTPS id demo%d\n\tfor <ann@example.org>; %s" % (t, date(t)),
         "From: " + hdr_addr(frm), "To: " + hdr_addr(to)]
    if cc:
        h.append("Cc: " + hdr_addr(cc))
    h.append("Subject: " + enc(subject, charset))
    h.append("Date: " + date(t))
    h.append("Message-ID: <%s@demo.example.org>" % (mid or "m%d" % t))
    if reply:
        h.append("In-Reply-To: <%s@demo.example.org>" % reply[-1])
        h.append("References: " + " ".join("<%s@demo.example.org>" % r for r in reply))
    h.append("MIME-Version: 1.0")
    h.extend(extra)
    if ctype is None:
        raw = body.encode(charset)
        cte = "8bit" if any(b > 127 for b in raw) else "7bit"
        h.append("Content-Type: text/plain; charset=%s" % charset)
        h.append("Content-Transfer-Encoding: " + cte)
        data = "\n".join(h).encode("ascii") + b"\n\n" + raw
    else:
        h.append(ctype)
        data = "\n".join(h).encode("ascii") + b"\n\n" + body.encode("utf-8")
    messages.append((folder, flags, t, data))

def alternative(plain, html):
    return ("--alt-b0undary\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
            "--alt-b0undary\nContent-Type: text/html; charset=utf-8\n\n%s\n"
            "--alt-b0undary--\n" % (qp(plain), html))

def qp(s):
    import quopri
    return quopri.encodestring(s.encode("utf-8")).decode("ascii")

def b64lines(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))

H = 3600
D = 86400

# --- a thread about the club regatta -------------------------------------------------------
msg("INBOX", 0, "Ben Ortiz <ben@rowing.example>", ME, "Autumn regatta: who is racing?",
    "Hi all,\n\nThe autumn regatta is on 6 December. Please reply by Friday if you want a\n"
    "seat in the coxed four. We have two boats and nine names so far.\n\nBen\n",
    mid="regatta1")
msg("INBOX", 2 * H, "Chloé Dubois <chloe@rowing.example>", "Ben Ortiz <ben@rowing.example>",
    "Re: Autumn regatta: who is racing?",
    "Ben Ortiz wrote:\n> Please reply by Friday if you want a seat in the coxed four.\n\n"
    "Count me in. I can cox if nobody else wants to — mon genou ne va pas mieux.\n\nChloé\n",
    cc=ME, mid="regatta2", reply=["regatta1"])
msg("Sent", 3 * H, ME, "Ben Ortiz <ben@rowing.example>", "Re: Autumn regatta: who is racing?",
    "On Wed, Ben Ortiz wrote:\n> Please reply by Friday if you want a seat in the coxed four.\n\n"
    "Yes please, stroke seat if it is free.\n\nAnn\n", mid="regatta3",
    reply=["regatta1", "regatta2"])
msg("INBOX", 5 * H, "Ben Ortiz <ben@rowing.example>", ME, "Re: Autumn regatta: who is racing?",
    "Ann: stroke is yours. Chloé coxes. Crew list attached to the next mail.\n\nBen\n",
    mid="regatta4", reply=["regatta1", "regatta3"], flags="RS")
msg("INBOX", 6 * H, "Ben Ortiz <ben@rowing.example>", "crew@rowing.example",
    "Crew list and race plan",
    "", mid="regatta5", reply=["regatta1", "regatta4"], flags="",
    ctype="Content-Type: multipart/mixed; boundary=\"mix-1\"")
crew_csv = ("seat,name,weight_kg\nstroke,Ann Example,64\n3,Dmitri Volkov,82\n2,Yuki Tanaka,70\n"
            "bow,Ben Ortiz,79\ncox,Chloé Dubois,52\n").encode("utf-8")
messages[-1] = messages[-1][:3] + (messages[-1][3] + (
    "--mix-1\nContent-Type: text/plain; charset=utf-8\n\n"
    "The crew list is attached as a spreadsheet file. Warm-up at 9:15, first heat at 10:40.\n"
    "\n--mix-1\nContent-Type: text/csv; name=\"crew.csv\"\n"
    "Content-Disposition: attachment; filename=\"crew.csv\"\nContent-Transfer-Encoding: base64\n\n"
    + b64lines(crew_csv) + "\n--mix-1--\n").encode("utf-8"),)

# --- Cyrillic, in KOI8-R and UTF-8 --------------------------------------------------------
msg("INBOX", 1 * D, addr("Дмитрий Волков", "dmitri@volkov.example", "koi8-r"), ME,
    "Расписание тренировок на декабрь",
    "Привет, Аня!\n\nВ декабре тренировки по вторникам и четвергам в 7:00.\n"
    "В субботу - длинная дистанция, 16 км.\n\nДмитрий\n", charset="koi8-r", mid="ru1", flags="")
msg("INBOX", 1 * D + 4 * H, addr("Дмитрий Волков", "dmitri@volkov.example"), ME,
    "Re: Расписание тренировок на декабрь",
    "Забыл сказать: ключи от эллинга у Бена.\n\n> В декабре тренировки по вторникам и "
    "четвергам в 7:00.\n", mid="ru2", reply=["ru1"], flags="")

# --- Japanese, ISO-2022-JP and UTF-8 -------------------------------------------------------
msg("INBOX", 2 * D, addr("田中 由紀", "yuki@tanaka.example", "iso-2022-jp"), ME,
    "来週の会議について", "アンさん\n\n来週の会議は火曜日の午後三時からです。\n資料は前日に送ります。\n\n"
    "田中\n", charset="iso-2022-jp", mid="ja1", flags="S")
msg("INBOX", 2 * D + 3 * H, addr("王 芳", "fang@wang.example"), ME, "项目进度更新 — 第三季度",
    "你好，\n\n第三季度的进度报告已经完成，请查看附件。我们按计划完成了百分之九十的任务。\n\n王芳\n",
    mid="zh1", flags="FS")

# --- newsletters: multipart/alternative with HTML ------------------------------------------
msg("INBOX", 3 * D, "Harbour Lane Bakery <news@bakery.example>", ME,
    "This week: rye, cardamom buns and a new opening time",
    alternative("Hello neighbours,\n\nThis week we bake dark rye on Tuesday and cardamom buns "
                "on Saturday.\nFrom December we open at 7:00 instead of 7:30.\n\n"
                "Order online: https://bakery.example/order\n",
                "<html><head><style>p{color:brown}</style></head><body><h1>Hello neighbours,</h1>"
                "<p>This week we bake <b>dark rye</b> on Tuesday and <i>cardamom buns</i> on "
                "Saturday.</p><p>From December we open at 7:00 instead of 7:30.</p>"
                "<p><a href=\"https://bakery.example/order\">Order online</a></p></body></html>"),
    mid="news1", flags="",
    ctype="Content-Type: multipart/alternative; boundary=\"alt-b0undary\"")
msg("INBOX", 10 * D, "Harbour Lane Bakery <news@bakery.example>", ME,
    "Stollen pre-orders are open",
    alternative("Stollen pre-orders are open until 15 December.\nSmall 12 EUR, large 20 EUR.\n",
                "<html><body><p>Stollen pre-orders are open until <b>15 December</b>.</p>"
                "<ul><li>Small 12&nbsp;&euro;</li><li>Large 20&nbsp;&euro;</li></ul>"
                "</body></html>"),
    mid="news2", flags="",
    ctype="Content-Type: multipart/alternative; boundary=\"alt-b0undary\"")

# --- accented Latin in ISO-8859-1 ----------------------------------------------------------
msg("INBOX", 4 * D, addr("José Núñez", "jose@nunez.example", "iso-8859-1"), ME,
    "Fotos de la regata: ¡qué día!",
    "¡Hola Ann!\n\nTe mando las fotos mañana. El río estaba precioso, aunque hacía frío.\n\n"
    "Un abrazo,\nJosé\n", charset="iso-8859-1", mid="es1", flags="S")
msg("INBOX", 4 * D + 2 * H, addr("Björn Åkesson", "bjorn@akesson.example"), ME,
    "Överraskning på fredag", "Hej Ann,\n\nVi har en liten överraskning för Chloé på fredag. "
    "Säg inget!\n\nBjörn\n", mid="sv1", flags="S")

# --- a work thread with several participants ------------------------------------------------
people = [("Priya Raman", "priya@work.example"), ("Tom Becker", "tom@work.example"),
          ("Lena Fischer", "lena@work.example")]
refs = []
texts = ["The release candidate fails on the old ARM board: the index file is written with the\n"
         "wrong alignment. Can someone look before Thursday?",
         "I can reproduce it. The struct has a 64-bit field after a 32-bit one; on that board the\n"
         "compiler packs differently. Proposal: write fields one by one, little-endian.",
         "+1 to explicit little-endian. Please add a test that reads a file written on x86.",
         "Patch is up for review. It also adds a version byte so old files are rebuilt.",
         "Reviewed and merged. Thanks all, RC2 tomorrow."]
for i, text in enumerate(texts):
    name, mail = people[i % 3]
    mid = "work%d" % i
    msg("INBOX", 5 * D + i * 3 * H, addr(name, mail), "dev@work.example",
        ("Re: " if i else "") + "Index corruption on ARM (RC1)", text + "\n\n-- \n" + name + "\n",
        mid=mid, reply=list(refs) if refs else None, flags="S" if i < 3 else "")
    refs.append(mid)

# --- a long message ------------------------------------------------------------------------
long_body = "Minutes of the annual general meeting\n=====================================\n\n"
for n in range(1, 41):
    long_body += ("%d. Item %d. The members discussed the matter at length. It was agreed that "
                  "the committee\n   would report back at the next meeting, and that the budget "
                  "line stays as it is.\n\n" % (n, n))
msg("INBOX", 6 * D, "Secretary <secretary@rowing.example>", "members@rowing.example",
    "Minutes of the annual general meeting", long_body, mid="agm", flags="S")

# --- an attachment: a small PNG image --------------------------------------------------------
png = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGElEQVR4nGNgYPj/nwEPYBw1gIEAGAAA"
    "//8DAF2vBfvc1uQtAAAAAElFTkSuQmCC")
msg("INBOX", 7 * D, "Yuki Tanaka <yuki@tanaka.example>", ME, "Boat club logo, final version",
    "", mid="logo", flags="S",
    ctype="Content-Type: multipart/mixed; boundary=\"mix-2\"")
messages[-1] = messages[-1][:3] + (messages[-1][3] + (
    "--mix-2\nContent-Type: text/plain; charset=utf-8\n\nHere is the final logo (8x8 preview).\n"
    "\n--mix-2\nContent-Type: image/png\nContent-Disposition: attachment; "
    "filename*=utf-8''logo-%E3%83%AD%E3%82%B4.png\nContent-Transfer-Encoding: base64\n\n"
    + b64lines(png) + "\n--mix-2--\n").encode("ascii"),)

# --- flagged and ordinary mail ---------------------------------------------------------------
msg("INBOX", 8 * D, "City Library <noreply@library.example>", ME,
    "Reminder: 2 books due on 1 December",
    "Dear Ann Example,\n\nThe following items are due on 1 December:\n\n"
    "  * The Boys in the Boat\n  * A Pattern Language\n\nRenew at https://library.example/renew\n",
    mid="lib1", flags="FS")
msg("INBOX", 8 * D + 5 * H, "Mum <mum@family.example>", ME, "Sunday lunch?",
    "Are you coming on Sunday? Dad is making his soup.\n\nLove, Mum\n", mid="mum1", flags="RS")
msg("INBOX", 9 * D, "Olga Petrova <olga@petrova.example>", ME, "Emoji test 🚣‍♀️ and ключи",
    "The new club chat has emoji everywhere 🚣 🏆 ✨. Does your mail program show them?\n",
    mid="emoji1", flags="")
msg("INBOX", 9 * D + 3 * H, "Hosting <billing@host.example>", ME, "Invoice 2026-11 for example.org",
    "Your invoice for November is 4.20 EUR.\nIt will be charged on 1 December.\n",
    mid="inv1", flags="S")
msg("INBOX", 11 * D, "Ben Ortiz <ben@rowing.example>", ME, "Boat trailer on Saturday",
    "Can you help load the trailer at 8:00 on Saturday? Bring gloves.\n", mid="trailer1",
    flags="")
msg("INBOX", 11 * D + 2 * H, "Priya Raman <priya@work.example>", ME, "Lunch on Thursday?",
    "There is a new Vietnamese place near the station. Thursday 12:30?\n", mid="lunch1", flags="")
msg("INBOX", 12 * D, "Security <security@bank.example>", ME,
    "Control characters test: \x1b[31mred\x1b[0m",
    "This message tries to colour your terminal: \x1b[31mRED\x1b[0m and to ring the bell \x07.\n"
    "A safe mail client shows the escapes instead of obeying them.\n", mid="ctl1", flags="")
msg("INBOX", 12 * D + H, "Newsletter <list@lists.example>", ME, "[lists] Weekly digest #47",
    "1. Why Maildir still matters\n2. POP3 in 2026\n3. Letters\n", mid="digest47", flags="",
    extra=["List-Id: Lists <lists.lists.example>", "List-Post: <mailto:list@lists.example>"])

# --- a mailing-list thread with quoted-printable encoded subjects ----------------------------
posters = [("Renée Lefèvre", "renee@list.example"), ("Marek Nowák", "marek@list.example"),
           ("Søren Kjær", "soren@list.example")]
lines = ["Does anyone still use Maildir++ dot-folders, or nested directories?",
         "Nested directories here; dot-folders only on the old server.",
         "Both. A client should read both and write whatever the user already has.",
         "Agreed. And please keep unknown flag letters when renaming!",
         "Dovecot keeps them too; it is in the spec's spirit if not its letter."]
lrefs = []
for i, text in enumerate(lines):
    name, mail = posters[i % 3]
    mid = "list%d" % i
    msg("INBOX", 13 * D + i * 2 * H, addr(name, mail, "iso-8859-1"), "maildir@list.example",
        ("Re: " if i else "") + "Maildir++ ou répertoires imbriqués ?", text + "\n",
        charset="iso-8859-1", mid=mid, reply=list(lrefs) if lrefs else None,
        flags="S" if i < 2 else "", extra=["List-Id: <maildir.list.example>"])
    lrefs.append(mid)

# --- Sent, Drafts, Trash ---------------------------------------------------------------------
msg("Sent", 2 * D + 5 * H, ME, addr("田中 由紀", "yuki@tanaka.example"), "Re: 来週の会議について",
    "田中さん\n\n了解しました。火曜日の三時に伺います。\n\nアン\n", mid="ja2", reply=["ja1"])
msg("Sent", 8 * D + 6 * H, ME, "Mum <mum@family.example>", "Re: Sunday lunch?",
    "Yes! I'll bring dessert.\n\nAnn\n", mid="mum2", reply=["mum1"])
msg("Sent", 5 * D + 14 * H, ME, "dev@work.example", "Re: Index corruption on ARM (RC1)",
    "Happy to review the patch tonight.\n\nAnn\n", mid="work-ann", reply=["work0", "work1"])
msg("Sent", 10 * D, ME, "Harbour Lane Bakery <news@bakery.example>", "Stollen order",
    "One large stollen for 20 December, please. Pick-up at 9:00.\n\nAnn Example\n",
    mid="stollen")
msg("Drafts", 11 * D + 5 * H, ME, "Ben Ortiz <ben@rowing.example>", "Re: Boat trailer on Saturday",
    "Ben,\n\nI can be there at 8:15 at the earliest, the bus\n", mid="draft1", flags="DS",
    reply=["trailer1"])
msg("Drafts", 12 * D + 2 * H, ME, "José Núñez <jose@nunez.example>", "Fotos",
    "¡Gracias por las fotos! ", mid="draft2", flags="DS")
msg("Trash", 3 * D, "Prize Centre <win@prize.example>", ME, "You have WON!!!",
    "Click here to claim your prize.\n", mid="spam1", flags="ST")
msg("Trash", 7 * D, "Old Newsletter <old@news.example>", ME, "Last issue",
    "This is the last issue of the old newsletter.\n", mid="old1", flags="S")

def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    for folder in ("INBOX", "Sent", "Drafts", "Trash"):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(ROOT, folder, sub))
            if sub != "cur":
                open(os.path.join(ROOT, folder, sub, ".keep"), "w").close()
    for i, (folder, flags, t, data) in enumerate(messages):
        name = "%d.M%06dP4242Q%d.demo" % (BASE + t, i, i)
        if flags == "" and folder == "INBOX" and 11 * D <= t < 13 * D:
            path = os.path.join(ROOT, folder, "new", name)     # arrived, not yet seen
        else:
            path = os.path.join(ROOT, folder, "cur", name + ":2," + "".join(sorted(flags)))
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (BASE + t, BASE + t))
    print("%d messages in %s" % (len(messages), os.path.normpath(ROOT)))

main()
