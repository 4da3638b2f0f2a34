"""Queries that should get no results, and the deterministic leave-out of articles.

Shared by ``vnsearch eval --leave-out`` (:mod:`.evaluation`) and ``vnsearch calibrate``
(:mod:`.calibration`): an index built without some articles makes those articles'
questions unanswerable; nonsense strings and questions on topics the health-news eval
corpora do not cover (sport, finance, games, cars, programming…) must not be answered
either.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

#: Strings no news passage answers: keyboard mashes and random real syllables.
NONSENSE_FIXED = ["zzzqqqxxx", "asdfgh qwerty", "xyzzy plugh", "qqq www eee", "lorem ipsum dolor",
                  "kkkk hhhh", "abcxyz 123456", "blorft snarg"]

#: Questions on topics absent from the vinewsqa-dev and vicoqa-turn1 corpora (health news).
OFF_TOPIC = [
    "Đội tuyển nào vô địch Ngoại hạng Anh mùa giải 2018?",
    "Giá bitcoin hôm nay tăng hay giảm?",
    "Cách lập trình Python để đọc file CSV",
    "Tỷ số trận chung kết World Cup 2014 là bao nhiêu?",
    "Mẫu xe ô tô SUV nào bán chạy nhất tháng trước?",
    "Chỉ số VN-Index đóng cửa phiên hôm qua",
    "Cấu hình máy chơi game PlayStation 5",
    "Ca sĩ nào đoạt giải Grammy album của năm?",
    "Lịch thi đấu vòng loại giải quần vợt Wimbledon",
    "Cách nâng cấp RAM cho máy tính xách tay",
    "Lãi suất tiết kiệm ngân hàng kỳ hạn 12 tháng",
    "Kết quả xổ số miền Bắc ngày thứ bảy",
    "Phim hoạt hình nào có doanh thu phòng vé cao nhất?",
    "Luật bóng rổ NBA về thời gian tấn công",
    "Hướng dẫn cài đặt hệ điều hành Linux Ubuntu",
    "Giá thép xây dựng trên thị trường quốc tế",
]

_ONSETS = "b c ch d đ g gh h k kh l m n ng nh p ph qu r s t th tr v x".split()
_RIMES = "a ă â e ê i o ô ơ u ư y anh ang ong uông iêng ươc oai uyên ưu oi".split()
_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]


def nonsense_queries(n_random: int = 24, seed: int = 12) -> list[str]:
    """The fixed nonsense strings plus ``n_random`` strings of 3-5 random (mostly real)
    syllables, the same every run."""
    import unicodedata

    rng = random.Random(seed)
    out = list(NONSENSE_FIXED)
    for _ in range(n_random):
        words = []
        for _ in range(rng.randint(3, 5)):
            rime = rng.choice(_RIMES)
            word = rng.choice(_ONSETS) + rime[0] + rng.choice(_TONES) + rime[1:]
            words.append(unicodedata.normalize("NFC", word))
        out.append(" ".join(words))
    return out


def leave_out_ids(article_ids: Iterable[str], n: int) -> set[str]:
    """``n`` of ``article_ids`` chosen by a hash of the id: the same set on every run and
    machine, spread evenly over the corpus."""
    ordered = sorted(set(article_ids), key=lambda a: hashlib.sha256(a.encode()).hexdigest())
    return set(ordered[:max(n, 0)])
