// The demo page: the web SDK (./sdk/, this server's embedded build of the npm package) does the
// work in a Web Worker; this file only draws.
const $ = (id) => document.getElementById(id);
const ms = (x) => (x === undefined ? "n/a" : `${x.toFixed(1)} ms`);
const kb = (x) => `${(x / 1024).toFixed(1)} KB`;

let vr;
let key;
let firstVersion;

function showError(error) {
  const messages = {
    network: "The server cannot be reached. Is it still running? Your preferences never left this page.",
    unauthorized: "This server asks for an API key: enter one above and try again.",
    rate_limited: `Too many requests: try again in ${error.retryAfterSeconds ?? 1} s.`,
    busy: "The server is busy: try again in a moment.",
    not_ready: "The server is still preparing its catalog: try again in a moment.",
    parameter_mismatch: "This page and the server speak different versions of the scheme: reload the page.",
    catalog_changed: "The catalog changed twice while this query was on its way: try again.",
    web_sdk_not_built: "This server was built without the web SDK: run web/build.sh, then build the server again.",
  };
  const text = messages[error.code] ?? `Something went wrong: ${error.message}`;
  const detail = document.createElement("small");
  detail.textContent = ` (${error.code ?? "error"}: ${error.message})`;
  $("error").replaceChildren(text, detail);
  $("error").dataset.code = error.code ?? "error";
  $("error").hidden = false;
}

async function connect() {
  const apiKey = $("api-key").value || undefined;
  try {
    const { Veilrank } = await import("./sdk/index.js");
    vr?.close();
    vr = await Veilrank.connect(location.origin, { apiKey });
    key = await vr.generateKey();
  } catch (e) {
    if (e.code === "unauthorized") $("api-key-row").hidden = false;
    $("status").textContent = "Not connected.";
    showError(e.code ? e : { code: "web_sdk_not_built", message: String(e) });
    return false;
  }
  const m = vr.manifest;
  firstVersion = m.content_version;
  $("status").textContent =
    `Catalog “${m.id}”: ${m.item_count.toLocaleString()} items, ${m.dimension} dimensions. ` +
    "A new secret key was made for this page; it never leaves this tab.";
  const box = $("topics");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const topic of m.topics) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = topic.name;
    label.append(input, ` ${topic.name}`);
    box.append(label);
  }
  box.disabled = false;
  $("recommend").disabled = false;
  return true;
}

async function recommend() {
  $("error").hidden = true;
  const topics = [...document.querySelectorAll("#topics input:checked")].map((i) => i.value);
  if (topics.length === 0) {
    showError({ code: "invalid_preferences", message: "pick at least one topic" });
    return;
  }
  if (!vr && !(await connect())) return;
  const button = $("recommend");
  button.disabled = true;
  $("status").textContent = "Encrypting, scoring, decrypting…";
  try {
    const { items, report } = await vr.recommend(key, { topics }, Number($("k").value));
    draw(items, report, topics);
    $("status").textContent = `Done: your top ${items.length} of ${vr.manifest.item_count.toLocaleString()}.`;
  } catch (e) {
    $("status").textContent = "No ranking this time.";
    showError(e);
  } finally {
    button.disabled = false;
  }
}

function draw(items, report, topics) {
  const list = $("ranking");
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement("li");
      li.dataset.id = item.id;
      li.dataset.rawScore = String(item.rawScore);
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = item.score.toFixed(3);
      li.append(item.title, score);
      return li;
    }),
  );
  $("results").hidden = false;

  const rows = [
    ["Encrypt (this page)", ms(report.encryptMs)],
    ["Upload", ms(report.uploadMs)],
    ["Server: score every item", ms(report.serverMs)],
    ["Download", ms(report.downloadMs)],
    ["Catalog hint (once per catalog version)", report.hintBytes ? `${ms(report.hintMs)}, ${kb(report.hintBytes)}` : "kept from before"],
    ["Decrypt (this page)", ms(report.decryptMs)],
    ["Rank (this page)", ms(report.rankMs)],
    ["Sent", kb(report.bytesSent || 0)],
    ["Received", kb(report.bytesReceived)],
  ];
  const body = $("timings").tBodies[0];
  body.replaceChildren(
    ...rows.map(([name, value]) => {
      const tr = document.createElement("tr");
      for (const text of [name, value]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  const r = $("report");
  r.dataset.encryptMs = String(report.encryptMs);
  r.dataset.decryptMs = String(report.decryptMs);
  r.dataset.rankMs = String(report.rankMs);
  r.dataset.contentVersion = report.contentVersion;
  r.hidden = false;

  $("server-saw").textContent =
    `A request at ${new Date().toLocaleTimeString()} from this browser for catalog “${vr.manifest.id}”, ` +
    `carrying ${kb(report.bytesSent || 0)} of ciphertext, and the ${kb(report.bytesReceived)} of ` +
    `encrypted scores it sent back. It did not see that you picked ${topics.join(" and ")}, ` +
    "nor any score, nor your ranking: those exist only in this page.";

  if (report.contentVersion !== firstVersion) {
    $("notice").textContent =
      "The catalog was updated on the server since this page loaded; this ranking is for the new version.";
    $("notice").hidden = false;
    firstVersion = report.contentVersion;
  }
}

$("recommend").addEventListener("click", () =>
  recommend().finally(() => {
    // for tests and scripts: how many clicks have been answered, well or not
    document.body.dataset.finished = String(Number(document.body.dataset.finished ?? 0) + 1);
  }),
);
// Enter in the API key field asks again, without leaving the page
$("api-key-row").addEventListener("submit", (event) => {
  event.preventDefault();
  $("recommend").click();
});
connect();
