"""Extra tuning data: the upstream FinanceBench repository's other filings with open-source questions.

Usage: python benchmarks/financebench_extra.py UPSTREAM_CHECKOUT OUT_DIR
UPSTREAM_CHECKOUT is a checkout (or bare clone: files are read with `git show HEAD:...`) of the FinanceBench
repository; OUT_DIR gets pdfs/NAME.pdf and questions.jsonl in the shared set's layout (evidence pages 0-based as
`page_index0`). Left out: the filings already in ../shared/data/financebench, every filing of a report-part company
(benchmarks/financebench_split.py), questions whose evidence spans several filings, filings whose PDF is not in git.
The data's licence (CC-BY-NC-4.0 on the dataset card) keeps it out of this repository: it is made on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.financebench_split import DATA, is_report_company  # noqa: E402


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def main(argv: list[str]) -> None:
    repo, out = Path(argv[0]), Path(argv[1])
    shared = {json.loads(line)["doc_name"] for line in (DATA / "questions.jsonl").read_text().splitlines() if line}
    pdfs = {Path(p).stem for p in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "pdfs/").decode().split()}
    questions, docs = [], set()
    for line in _git(repo, "show", "HEAD:data/financebench_open_source.jsonl").decode().splitlines():
        q = json.loads(line)
        doc = q["doc_name"]
        if doc in shared or doc not in pdfs or is_report_company(doc, q["company"]):
            continue
        evidence = [{"doc": e["doc_name"], "page_index0": e["evidence_page_num"]} for e in q["evidence"]]
        if any(e["doc"] != doc for e in evidence):
            continue
        try:
            blob = _git(repo, "show", f"HEAD:pdfs/{doc}.pdf")
        except subprocess.CalledProcessError:
            continue  # listed in the tree but its blob is not in this clone
        (out / "pdfs").mkdir(parents=True, exist_ok=True)
        (out / "pdfs" / f"{doc}.pdf").write_bytes(blob)
        docs.add(doc)
        keep = ("financebench_id", "company", "doc_name", "question_type", "question", "answer")
        questions.append({**{k: q[k] for k in keep}, "evidence": evidence})
    (out / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    print(f"{len(questions)} questions over {len(docs)} filings written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
