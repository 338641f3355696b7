// Drives the demo page in Debian's Chromium with playwright-core, for the browser test
// (tests/tests/browser.rs), which starts the server and checks what this prints against the
// plaintext ranking it computes in Rust.
//
//   node web/js/tests/demo.mjs URL TOPICS[,TOPIC...] [--wait] [--runs N]
//
// Opens URL/demo/, ticks the topics, clicks "Recommend" N times (default 1) and prints one JSON
// line per run: {"items": [{"id", "rawScore"}], "report": {...}, "notice": ..., "error": ...}.
// With --wait it prints {"loaded": true} once the page is ready and waits for a line on stdin
// before each click (the test stops or changes the server meanwhile).
import { chromium } from "playwright-core";
import readline from "node:readline";

const [url, topicList, ...rest] = process.argv.slice(2);
const wait = rest.includes("--wait");
const runsAt = rest.indexOf("--runs");
const runs = runsAt >= 0 ? Number(rest[runsAt + 1]) : 1;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let status = 0;
const console_ = [];
let page;
try {
  page = await browser.newPage();
  page.on("console", (m) => console_.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console_.push(`pageerror: ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && console_.push(`http ${r.status()}: ${r.url()}`));
  page.on("requestfailed", (r) => console_.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${url}/demo/`);
  await page.waitForSelector("#recommend:not([disabled])", { timeout: 60_000 });
  for (const topic of topicList.split(",")) {
    await page.check(`#topics input[value="${topic}"]`);
  }
  if (wait) console.log(JSON.stringify({ loaded: true }));
  for (let run = 0; run < runs; run++) {
    if (wait) await lines.next();
    await page.click("#recommend");
    await page.waitForFunction((n) => Number(document.body.dataset.finished ?? 0) > n, run, {
      timeout: 120_000,
    });
    const result = await page.evaluate(() => {
      const error = document.getElementById("error");
      const notice = document.getElementById("notice");
      const report = document.getElementById("report");
      return {
        items: [...document.querySelectorAll("#ranking li")].map((li) => ({
          id: li.dataset.id,
          rawScore: Number(li.dataset.rawScore),
        })),
        report: report.hidden ? null : {
          encryptMs: Number(report.dataset.encryptMs),
          decryptMs: Number(report.dataset.decryptMs),
          rankMs: Number(report.dataset.rankMs),
          contentVersion: report.dataset.contentVersion,
        },
        notice: notice.hidden ? null : notice.textContent,
        error: error.hidden ? null : { code: error.dataset.code, text: error.textContent },
        status: document.getElementById("status").textContent,
      };
    });
    result.console = console_.splice(0);
    console.log(JSON.stringify(result));
  }
} catch (e) {
  console.error(`demo.mjs: ${e.stack ?? e}`);
  for (const line of console_) console.error(`page ${line}`);
  const text = await page?.evaluate(() => document.body.innerText).catch(() => "");
  if (text) console.error(`page text: ${text}`);
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
