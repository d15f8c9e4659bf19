"""The words of every notice, in Japanese and English. Data only; message.py does the rest.

Japanese uses the regulation's own terms (Appendix 1): 障害通知 (fault notification),
利用不能 (unavailable), 復旧 (recovery), 減額 (credit, a reduction of the monthly fee).

Templates are plain text with ``str.format`` fields; message.py fills them with values that
it has already turned into text, and escapes the result as a whole for HTML, so a template must
never contain markup. Fields: ``circuit incident start detected end deadline left elapsed
since seq``.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.model import Lang
from monitor.core.sla import Tier


@dataclass(frozen=True, slots=True, kw_only=True)
class KindText:
    """One kind of notice in one language: subject words, title and paragraphs."""

    subject: str
    title: str
    paras: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LangText:
    """Everything one language needs: per-kind texts, field labels, units and terms."""

    kinds: dict[str, KindText]
    labels: dict[str, str]
    states: dict[str, str]
    tiers: dict[Tier, str]
    units: tuple[str, str, str, str]  # day, hour, minute, second
    seconds: str  # "{n} s" in parentheses after a duration, the exact figure
    credit: str  # "{fraction} of the monthly fee ({yen})"
    no_credit: str
    footer: str
    head: str  # the journal's chain head: "{seq}", "{hash}" (core/chain.py)


JA = LangText(
    kinds={
        "opened": KindText(
            subject="障害通知（利用不能）",
            title="障害通知",
            paras=(
                "回線 {circuit} は {start} から利用不能となっています。",
                "{detected} に検知しました（インシデント番号 #{incident}）。",
                "全ての経路（ルータ × 分界点）で IP 通信ができない状態です。"
                "復旧しましたら改めてお知らせします。",
            ),
        ),
        "reminder": KindText(
            subject="障害継続（第{seq}報）",
            title="障害継続のお知らせ（第{seq}報）",
            paras=(
                "回線 {circuit} は引き続き利用不能です（インシデント番号 #{incident}）。",
                "{start} の開始から {elapsed} が経過しました。復旧に向けて対応中です。",
            ),
        ),
        "recovered": KindText(
            subject="復旧",
            title="復旧のお知らせ",
            paras=(
                "回線 {circuit} は {end} に復旧しました（インシデント番号 #{incident}）。",
                "利用不能時間と減額は下記のとおりです。"
                "減額の算定からは、事前に通知した工事の時間を除いています。",
            ),
        ),
        "monitoring-ended": KindText(
            subject="監視終了（利用不能のまま）",
            title="監視終了のお知らせ",
            paras=(
                "回線 {circuit} は監視設定から外されたため、{end} に監視を終了しました。"
                "その時点で利用不能は継続中でした（インシデント番号 #{incident}）。",
                "下記はその時点までの利用不能時間と減額です。以後の状態は監視していません。",
            ),
        ),
        "deadline-at-risk": KindText(
            subject="障害通知期限切迫",
            title="障害通知の期限が迫っています",
            paras=(
                "インシデント #{incident}（回線 {circuit}）の障害通知が、"
                "まだどのメールリレーにも受理されていません。",
                "期限 {deadline} まで残り {left} です。"
                "期限までに通知できない場合、月額料金の 1/30 の減額となります。",
                "連絡先への通知を別の手段で行い、メールリレーの状態を確認してください。",
            ),
        ),
        "blind": KindText(
            subject="監視不能",
            title="監視不能",
            paras=(
                "監視装置が {since} から制御対象に到達できません。",
                "この間は回線障害と監視装置自身の孤立を区別できないため、"
                "インシデントの判定とお客様への通知を停止しています。",
                "監視装置のネットワークを確認してください。",
            ),
        ),
        "blind-ended": KindText(
            subject="監視再開",
            title="監視再開",
            paras=(
                "監視装置は {end} に制御対象への到達を回復しました。",
                "監視不能の期間は {since} から {elapsed} でした。判定と通知を再開します。",
            ),
        ),
        "vantage-disagree": KindText(
            subject="監視拠点間の判定不一致",
            title="監視拠点の判定が一致しません",
            paras=(
                "回線 {circuit} について、一方の監視拠点は全ての経路の停止を、"
                "もう一方は通信できる経路を観測しています（{now}）。",
                "どちらかの拠点が孤立している可能性があるため、お客様への障害通知は行っていません。",
                "各拠点の観測は下記のとおりです。両拠点のネットワークを確認してください。",
            ),
        ),
        "test": KindText(
            subject="試験送信",
            title="試験送信",
            paras=(
                "これは slawatch の試験メールです（回線 {circuit}）。",
                "障害通知の送信経路を確認するために送信しました。対応は不要です。",
            ),
        ),
    },
    labels={
        "circuit": "回線",
        "incident": "インシデント番号",
        "start": "利用不能の開始",
        "detected": "検知時刻",
        "end": "復旧時刻",
        "stopped": "監視終了時刻",
        "elapsed": "経過時間",
        "duration": "利用不能時間",
        "counted": "減額の算定対象時間",
        "tier": "減額区分",
        "credit": "減額",
        "deadline": "障害通知の期限",
        "left": "期限までの残り時間",
        "since": "監視不能の開始",
        "now": "送信時刻",
        "note": "備考",
        "paths": "経路の状態",
    },
    states={"up": "正常", "down": "断", "unknown": "不明"},
    tiers={
        Tier.NONE: "30分以内（減額なし）",
        Tier.MIN60: "30分超 60分以内",
        Tier.H12: "1時間超 12時間以内",
        Tier.H24: "12時間超 24時間以内",
        Tier.D3: "24時間超 3日以内",
        Tier.D7: "3日超 7日以内",
        Tier.D14: "7日超 14日以内",
        Tier.OVER14: "14日超",
    },
    units=("日", "時間", "分", "秒"),
    seconds="（{n} 秒）",
    credit="月額料金の {fraction}（{yen} 円）",
    no_credit="なし",
    footer="このメールは slawatch（ExpressRoute 回線監視）が自動送信しています。",
    head="送信時の記録チェーン先頭: 記録 {seq} sha256:{hash}",
)

EN = LangText(
    kinds={
        "opened": KindText(
            subject="circuit down",
            title="Fault notification",
            paras=(
                "Circuit {circuit} has been unavailable since {start}.",
                "We detected it at {detected} (incident #{incident}).",
                "No IP communication is possible over any path (router × demarcation point). "
                "We will tell you again when it recovers.",
            ),
        ),
        "reminder": KindText(
            subject="still down (update {seq})",
            title="Circuit still down (update {seq})",
            paras=(
                "Circuit {circuit} is still unavailable (incident #{incident}).",
                "{elapsed} have passed since it started at {start}. We are working on it.",
            ),
        ),
        "recovered": KindText(
            subject="recovered",
            title="Circuit recovered",
            paras=(
                "Circuit {circuit} recovered at {end} (incident #{incident}).",
                "The outage and its credit are below. "
                "Announced maintenance is not counted towards the credit.",
            ),
        ),
        "monitoring-ended": KindText(
            subject="monitoring ended (still unavailable)",
            title="Monitoring ended",
            paras=(
                "Circuit {circuit} was removed from the monitor's configuration, so monitoring "
                "ended at {end} while it was still unavailable (incident #{incident}).",
                "The outage up to then and its credit are below. What happened after is not "
                "known to the monitor.",
            ),
        ),
        "deadline-at-risk": KindText(
            subject="notification deadline at risk",
            title="Fault notification deadline at risk",
            paras=(
                "No mail relay has accepted a fault notice yet for incident #{incident} "
                "(circuit {circuit}).",
                "{left} remain until the deadline at {deadline}. "
                "A notice not given by then costs 1/30 of the monthly fee.",
                "Tell the contacts by another channel and check the mail relays.",
            ),
        ),
        "blind": KindText(
            subject="monitor blind",
            title="Monitor blind",
            paras=(
                "The monitor has not reached its control targets since {since}.",
                "It cannot tell a circuit outage from its own isolation, so it opens no "
                "incidents and sends no customer notices meanwhile.",
                "Check the monitor's own network.",
            ),
        ),
        "blind-ended": KindText(
            subject="monitor sight restored",
            title="Monitor sight restored",
            paras=(
                "The monitor reached its control targets again at {end}.",
                "It was blind for {elapsed} from {since}. Detection and notices resume.",
            ),
        ),
        "vantage-disagree": KindText(
            subject="vantage points disagree",
            title="Vantage points disagree",
            paras=(
                "For circuit {circuit}, one NOC host sees every path down while another sees "
                "a path that answers ({now}).",
                "One of them may be cut off, so no customer has been notified.",
                "Each host's view is below. Check both hosts' networks.",
            ),
        ),
        "test": KindText(
            subject="test message",
            title="Test message",
            paras=(
                "This is a test message from slawatch (circuit {circuit}).",
                "It checks the path fault notices take. No action is needed.",
            ),
        ),
    },
    labels={
        "circuit": "Circuit",
        "incident": "Incident",
        "start": "Unavailable since",
        "detected": "Detected at",
        "end": "Recovered at",
        "stopped": "Monitoring ended at",
        "elapsed": "Elapsed",
        "duration": "Outage duration",
        "counted": "Counted for credit",
        "tier": "Credit tier",
        "credit": "Credit",
        "deadline": "Notification deadline",
        "left": "Time left",
        "since": "Blind since",
        "now": "Sent at",
        "note": "Note",
        "paths": "Paths",
    },
    states={"up": "up", "down": "down", "unknown": "unknown"},
    tiers={
        Tier.NONE: "up to 30 min (no credit)",
        Tier.MIN60: "over 30 min, up to 60 min",
        Tier.H12: "over 1 h, up to 12 h",
        Tier.H24: "over 12 h, up to 24 h",
        Tier.D3: "over 24 h, up to 3 days",
        Tier.D7: "over 3 days, up to 7 days",
        Tier.D14: "over 7 days, up to 14 days",
        Tier.OVER14: "over 14 days",
    },
    units=(" d", " h", " min", " s"),
    seconds=" ({n} s)",
    credit="{fraction} of the monthly fee (JPY {yen})",
    no_credit="none",
    footer="Sent automatically by slawatch (ExpressRoute circuit monitor).",
    head="Journal chain head when sent: record {seq} sha256:{hash}",
)

TEXTS: dict[Lang, LangText] = {"ja": JA, "en": EN}
