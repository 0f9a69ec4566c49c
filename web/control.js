/* Burgernet control room (GET /control): sign in with Cognito, follow an action live, act on it.
   The JSON routes and the sign-in are docs/api.md's "Control room"; this file is bundled after
   Leaflet by tools/build_control.py. Nothing personal is shown: counts, and the sightings' own
   positions. */
(function () {
  "use strict";

  const TEXTS = {
    nl: {
      title: "Burgernet meldkamer",
      brand: "Burgernet meldkamer",
      skip: "Direct naar de inhoud",
      switch: "English",
      sign_out: "Uitloggen",
      noscript: "Zet JavaScript aan om de meldkamer te gebruiken.",
      sign_in_title: "Inloggen",
      sign_in_intro: "Voor centralisten van de meldkamer. Log in met uw account van de meldkamer.",
      username: "Gebruikersnaam",
      password: "Wachtwoord",
      mfa_code: "Code uit uw authenticator-app",
      mfa_hint: "Zes cijfers, uit de app die u bij uw eerste keer inloggen koppelde.",
      mfa_setup: "Koppel eerst een authenticator-app met deze sleutel: {secret}. Vul daarna de code van zes cijfers in.",
      new_password: "Nieuw wachtwoord",
      new_password_needed: "Kies een nieuw wachtwoord om verder te gaan.",
      sign_in: "Inloggen",
      signing_in: "Bezig met inloggen…",
      sign_in_missing: "Vul uw gebruikersnaam en wachtwoord in.",
      sign_in_refused: "Inloggen lukte niet: {message}",
      signed_out: "U bent uitgelogd.",
      session_over: "Uw sessie is verlopen. Log opnieuw in.",
      room_title: "Meldkamer",
      list_title: "Lopende acties",
      list_empty: "Er lopen geen acties.",
      map_title: "Gebied en tips",
      reach_title: "Bereik per kanaal",
      channel: "Kanaal",
      people: "Personen",
      queued: "In wachtrij",
      sent: "Verzonden",
      failed: "Mislukt",
      unknown: "Onbekend",
      cancelled: "Geannuleerd",
      answered: "Opgenomen",
      channel_sms: "Sms",
      channel_voice: "Spraak",
      channel_push: "App",
      chart_title: "Verzonden per minuut",
      chart_empty: "Nog niets verzonden.",
      chart_caption: "Verzonden berichten per minuut, van {from} tot {to}: sms {sms}, spraak {voice}, app {push}.",
      sightings_title: "Tips van burgers",
      sightings_empty: "Nog geen tips.",
      sighting: "Tip om {time}, {distance} {direction} van het midden",
      sighting_text: "“{text}”",
      sighting_no_text: "(geen tekst)",
      updates_title: "Updates en resultaat",
      updates_empty: "Nog geen updates.",
      update_line: "{time}: {message}",
      update_counts: "verzonden {sent}, mislukt {failed}, onbekend {unknown}",
      result: "Afgesloten om {time}: {outcome}.",
      facts_status: "Status",
      facts_started: "Gestart",
      facts_ends: "Loopt tot",
      facts_closed: "Afgesloten",
      status_active: "loopt",
      status_closed: "afgesloten",
      acts_title: "Handelingen",
      update_title: "Update sturen",
      update_message: "Bericht aan iedereen die gealarmeerd is",
      update_description: "Nieuwe beschrijving (niet verplicht)",
      update_submit: "Update versturen",
      update_confirm: "Deze update gaat naar iedereen die voor actie {ref} gealarmeerd is: “{message}”",
      update_yes: "Ja, update versturen",
      update_done: "De update is verstuurd.",
      update_missing: "Schrijf eerst het bericht.",
      photo_title: "Foto toevoegen",
      photo_file: "Foto (JPEG of PNG)",
      photo_submit: "Foto plaatsen",
      photo_confirm: "Deze foto komt bij actie {ref} op de openbare pagina: {name}",
      photo_yes: "Ja, foto plaatsen",
      photo_done: "De foto is geplaatst.",
      photo_missing: "Kies eerst een foto.",
      close_title: "Actie afsluiten",
      close_outcome: "Afloop",
      close_message: "Bericht bij het resultaat (niet verplicht)",
      close_submit: "Actie afsluiten",
      close_confirm: "Actie {ref} afsluiten met afloop “{outcome}”? Iedereen die gealarmeerd is krijgt het resultaat. Dit kan niet ongedaan worden.",
      close_yes: "Ja, actie afsluiten",
      close_done: "De actie is afgesloten.",
      outcome_found: "Gevonden",
      outcome_arrested: "Aangehouden",
      outcome_not_found: "Niet gevonden",
      outcome_cancelled: "Ingetrokken",
      outcome_expired: "Verlopen",
      confirm_title: "Weet u het zeker?",
      confirm_no: "Annuleren",
      refused: "Geweigerd: {message}",
      fresh: "Bijgewerkt om {time}.",
      stale: "Let op: deze gegevens zijn verouderd. Laatst bijgewerkt om {time}; de verbinding met Burgernet is weg.",
      never: "nog nooit",
      network_error: "Geen verbinding met Burgernet. Probeer het opnieuw.",
      server_error: "Er ging iets mis aan de kant van Burgernet ({status}). Probeer het opnieuw.",
      map_area: "Gebied van de actie",
      incident_burglary: "inbraak",
      incident_robbery: "overval",
      incident_hit_and_run: "doorrijden na ongeval",
      incident_missing_person: "vermissing",
      incident_shoplifting: "winkeldiefstal",
      incident_other: "overig",
      statement: "Toegankelijkheid",
    },
    en: {
      title: "Burgernet control room",
      brand: "Burgernet control room",
      skip: "Skip to the content",
      switch: "Nederlands",
      sign_out: "Sign out",
      noscript: "Turn on JavaScript to use the control room.",
      sign_in_title: "Sign in",
      sign_in_intro: "For control room operators. Sign in with your control room account.",
      username: "Username",
      password: "Password",
      mfa_code: "Code from your authenticator app",
      mfa_hint: "Six digits, from the app you linked when you first signed in.",
      mfa_setup: "First link an authenticator app with this key: {secret}. Then enter its six-digit code.",
      new_password: "New password",
      new_password_needed: "Choose a new password to continue.",
      sign_in: "Sign in",
      signing_in: "Signing in…",
      sign_in_missing: "Enter your username and password.",
      sign_in_refused: "Signing in failed: {message}",
      signed_out: "You are signed out.",
      session_over: "Your session has ended. Please sign in again.",
      room_title: "Control room",
      list_title: "Running actions",
      list_empty: "No actions are running.",
      map_title: "Area and sightings",
      reach_title: "Reach per channel",
      channel: "Channel",
      people: "People",
      queued: "Queued",
      sent: "Sent",
      failed: "Failed",
      unknown: "Unknown",
      cancelled: "Cancelled",
      answered: "Answered",
      channel_sms: "SMS",
      channel_voice: "Voice",
      channel_push: "App",
      chart_title: "Sent per minute",
      chart_empty: "Nothing sent yet.",
      chart_caption: "Messages sent per minute, from {from} to {to}: SMS {sms}, voice {voice}, app {push}.",
      sightings_title: "Sightings from residents",
      sightings_empty: "No sightings yet.",
      sighting: "Sighting at {time}, {distance} {direction} of the centre",
      sighting_text: "“{text}”",
      sighting_no_text: "(no text)",
      updates_title: "Updates and result",
      updates_empty: "No updates yet.",
      update_line: "{time}: {message}",
      update_counts: "sent {sent}, failed {failed}, unknown {unknown}",
      result: "Closed at {time}: {outcome}.",
      facts_status: "Status",
      facts_started: "Started",
      facts_ends: "Runs until",
      facts_closed: "Closed",
      status_active: "running",
      status_closed: "closed",
      acts_title: "Actions",
      update_title: "Send an update",
      update_message: "Message to everyone alerted",
      update_description: "New description (optional)",
      update_submit: "Send update",
      update_confirm: "This update goes to everyone alerted for action {ref}: “{message}”",
      update_yes: "Yes, send the update",
      update_done: "The update was sent.",
      update_missing: "Write the message first.",
      photo_title: "Add a photo",
      photo_file: "Photo (JPEG or PNG)",
      photo_submit: "Post photo",
      photo_confirm: "This photo goes on action {ref}'s public page: {name}",
      photo_yes: "Yes, post the photo",
      photo_done: "The photo was posted.",
      photo_missing: "Choose a photo first.",
      close_title: "Close the action",
      close_outcome: "Outcome",
      close_message: "Message with the result (optional)",
      close_submit: "Close the action",
      close_confirm: "Close action {ref} with outcome “{outcome}”? Everyone alerted gets the result. This cannot be undone.",
      close_yes: "Yes, close the action",
      close_done: "The action is closed.",
      outcome_found: "Found",
      outcome_arrested: "Arrested",
      outcome_not_found: "Not found",
      outcome_cancelled: "Called off",
      outcome_expired: "Expired",
      confirm_title: "Are you sure?",
      confirm_no: "Cancel",
      refused: "Refused: {message}",
      fresh: "Updated at {time}.",
      stale: "Note: this data is out of date. Last updated at {time}; the connection to Burgernet is lost.",
      never: "never",
      network_error: "Burgernet cannot be reached. Please try again.",
      server_error: "Something went wrong on Burgernet's side ({status}). Please try again.",
      map_area: "The action's area",
      incident_burglary: "burglary",
      incident_robbery: "robbery",
      incident_hit_and_run: "hit-and-run",
      incident_missing_person: "missing person",
      incident_shoplifting: "shoplifting",
      incident_other: "other",
      statement: "Accessibility",
    },
  };

  const CHANNELS = ["sms", "voice", "push"];
  const COUNTS = ["people", "queued", "sent", "failed", "unknown", "cancelled"];
  const DIRECTIONS = {
    nl: ["N", "NO", "O", "ZO", "Z", "ZW", "W", "NW"],
    en: ["N", "NE", "E", "SE", "S", "SW", "W", "NW"],
  };
  // How often the page asks for news, and after how many missed polls it says the data is stale.
  const query = new URLSearchParams(location.search);
  const POLL_MS = Math.max(1000, Number(query.get("poll_ms")) || 3000);
  const STALE_AFTER = 3;

  // The API lives next to the page: the page is …/control and this script
  // …/control/assets/control.js, so "../../" is the API's root with or without a stage prefix.
  const script = document.currentScript;
  const API_ROOT = new URL(script && script.src ? "../../" : "./", script && script.src ? script.src : location.href);
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";

  const state = {
    lang: query.get("lang") === "en" ? "en" : "nl",
    config: null,
    // Tokens live in this closure only: never in localStorage or cookies.
    idToken: null,
    refreshToken: null,
    username: "",
    challenge: null, // {name, session} while Cognito asks for more
    list: [],
    listTag: null,
    selected: null,
    detail: null,
    detailTag: null,
    lastOk: null,
    drawn: { id: null, area: null, sightings: "" },
    timer: null,
    polling: false,
    keys: {}, // an Idempotency-Key per act, kept until the API answers (a retry reuses it)
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const text = TEXTS[state.lang][key] ?? TEXTS.nl[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  // Times as the control room reads them: Dutch time, in the page's language.
  function dutchTime(iso, fields) {
    if (!iso) return "";
    return new Intl.DateTimeFormat(state.lang === "en" ? "en-GB" : "nl-NL", {
      ...fields,
      timeZone: "Europe/Amsterdam",
    }).format(new Date(iso));
  }

  function clock(iso) {
    return dutchTime(iso, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function when(iso) {
    return dutchTime(iso, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function distance(metres) {
    if (metres < 1000) return `${Math.round(metres)} m`;
    return `${(metres / 1000).toLocaleString(state.lang === "en" ? "en-GB" : "nl-NL", { maximumFractionDigits: 1 })} km`;
  }

  function direction(bearing) {
    return DIRECTIONS[state.lang][Math.round(((bearing % 360) + 360) % 360 / 45) % 8];
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function setStatus(text, kind) {
    const box = $("status");
    box.textContent = text || "";
    box.className = `status${kind ? ` status--${kind}` : ""}`;
  }

  function showError(id, text) {
    const box = $(id);
    box.textContent = text || "";
    box.hidden = !text;
  }

  // ---- texts and language ----------------------------------------------------------------------

  function renderTexts() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("language-switch").lang = state.lang === "nl" ? "en" : "nl";
    if (state.detail) renderDetail();
    renderList();
    renderFreshness();
  }

  // ---- the API ---------------------------------------------------------------------------------

  class Refused extends Error {
    constructor(status, body) {
      super((body && body.message) || t("server_error", { status }));
      this.status = status;
      this.body = body || {};
    }
  }

  // The network failed (no answer at all): the data on screen may be stale, nothing more.
  class Offline extends Error {}

  // Every request gives up after a while (a photo's upload gets longer): a hung connection must
  // not hold the polls back, or the page could never say its data is stale.
  async function reach(url, options, timeoutMs = 10000) {
    try {
      return await fetch(url, { ...options, signal: AbortSignal.timeout(timeoutMs) });
    } catch (_) {
      throw new Offline(t("network_error"));
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (state.idToken) headers.Authorization = state.idToken; // the ID token itself, no "Bearer"
    const response = await reach(new URL(path, API_ROOT), { ...options, headers, cache: "no-store" }, options.timeoutMs);
    if (response.status === 304) return { status: 304, etag: response.headers.get("ETag") };
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) throw new Refused(response.status, body);
    return { status: response.status, etag: response.headers.get("ETag"), body };
  }

  async function config() {
    if (!state.config) state.config = (await api("control/config")).body;
    return state.config;
  }

  // ---- Cognito ---------------------------------------------------------------------------------

  async function cognito(operation, payload) {
    const cfg = await config();
    const response = await reach(cfg.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
      },
      body: JSON.stringify(payload),
      cache: "no-store",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Refused(response.status, { message: body.message || body.Message || body.__type });
    return body;
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (_) {
      return {};
    }
  }

  async function answered(answer) {
    if (answer.AuthenticationResult) {
      state.idToken = answer.AuthenticationResult.IdToken;
      if (answer.AuthenticationResult.RefreshToken) state.refreshToken = answer.AuthenticationResult.RefreshToken;
      state.challenge = null;
      enterRoom();
      return;
    }
    const name = answer.ChallengeName;
    state.challenge = { name, session: answer.Session };
    if (name === "SOFTWARE_TOKEN_MFA" || name === "MFA_SETUP") {
      $("mfa-field").hidden = false;
      if (name === "MFA_SETUP") {
        const setup = await cognito("AssociateSoftwareToken", { Session: answer.Session });
        state.challenge.session = setup.Session;
        $("mfa-setup").textContent = t("mfa_setup", { secret: setup.SecretCode });
        $("mfa-setup").hidden = false;
      }
      $("mfa-code").focus();
    } else if (name === "NEW_PASSWORD_REQUIRED") {
      $("new-password-field").hidden = false;
      showError("sign-in-error", t("new_password_needed"));
      $("new-password").focus();
    } else {
      throw new Refused(400, { message: name });
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const cfg = await config().catch(() => null);
    if (!cfg) {
      showError("sign-in-error", t("network_error"));
      return;
    }
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      showError("sign-in-error", t("sign_in_missing"));
      $(username ? "password" : "username").focus();
      return;
    }
    showError("sign-in-error", "");
    setStatus(t("signing_in"));
    state.username = username;
    try {
      const challenge = state.challenge;
      if (!challenge) {
        await answered(
          await cognito("InitiateAuth", {
            AuthFlow: "USER_PASSWORD_AUTH",
            ClientId: cfg.client_id,
            AuthParameters: { USERNAME: username, PASSWORD: password },
          }),
        );
      } else if (challenge.name === "MFA_SETUP") {
        const code = $("mfa-code").value.trim();
        const verified = await cognito("VerifySoftwareToken", { Session: challenge.session, UserCode: code });
        await answered(
          await cognito("RespondToAuthChallenge", {
            ClientId: cfg.client_id,
            ChallengeName: "MFA_SETUP",
            Session: verified.Session,
            ChallengeResponses: { USERNAME: username },
          }),
        );
      } else {
        const responses = { USERNAME: username };
        if (challenge.name === "SOFTWARE_TOKEN_MFA") responses.SOFTWARE_TOKEN_MFA_CODE = $("mfa-code").value.trim();
        if (challenge.name === "NEW_PASSWORD_REQUIRED") responses.NEW_PASSWORD = $("new-password").value;
        await answered(
          await cognito("RespondToAuthChallenge", {
            ClientId: cfg.client_id,
            ChallengeName: challenge.name,
            Session: challenge.session,
            ChallengeResponses: responses,
          }),
        );
      }
      setStatus("");
    } catch (problem) {
      setStatus("");
      state.challenge = null;
      $("mfa-field").hidden = true;
      $("new-password-field").hidden = true;
      const message = problem instanceof Refused ? problem.message : t("network_error");
      showError("sign-in-error", t("sign_in_refused", { message }));
      $("password").focus();
    }
  }

  async function refresh() {
    if (!state.refreshToken) return false;
    try {
      const cfg = await config();
      const answer = await cognito("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: cfg.client_id,
        AuthParameters: { REFRESH_TOKEN: state.refreshToken },
      });
      state.idToken = answer.AuthenticationResult.IdToken;
      return true;
    } catch (_) {
      return false;
    }
  }

  function signOut(message) {
    clearInterval(state.timer);
    Object.assign(state, {
      idToken: null,
      refreshToken: null,
      challenge: null,
      list: [],
      listTag: null,
      selected: null,
      detail: null,
      detailTag: null,
      lastOk: null,
    });
    $("room").hidden = true;
    $("sign-in").hidden = false;
    $("sign-out").hidden = true;
    $("who").hidden = true;
    $("password").value = "";
    $("mfa-code").value = "";
    $("mfa-field").hidden = true;
    setStatus(message || t("signed_out"));
    $("sign-in-title").focus();
  }

  // ---- the room --------------------------------------------------------------------------------

  function enterRoom() {
    const me = claims(state.idToken);
    $("who").textContent = me["cognito:username"] || state.username;
    $("who").hidden = false;
    $("sign-out").hidden = false;
    $("sign-in").hidden = true;
    $("room").hidden = false;
    $("password").value = "";
    $("room-title").focus();
    poll();
    state.timer = setInterval(poll, POLL_MS);
  }

  // One authorised call; a 401 gets one silent refresh of the token, then sends the person back
  // to the sign-in.
  async function authorised(path, options) {
    try {
      return await api(path, options);
    } catch (problem) {
      if (problem instanceof Refused && problem.status === 401 && (await refresh())) return api(path, options);
      if (problem instanceof Refused && problem.status === 401) signOut(t("session_over"));
      throw problem;
    }
  }

  async function poll() {
    if (state.polling) return; // the last poll is still out: one at a time, answers in order
    state.polling = true;
    try {
      const list = await authorised("control/actions?status=active", {
        headers: state.listTag ? { "If-None-Match": state.listTag } : {},
      });
      if (list.status !== 304) {
        state.list = list.body.actions || [];
        state.listTag = list.etag;
        if (!state.selected && state.list.length) state.selected = state.list[0].action_id;
        renderList();
      }
      if (state.selected) {
        const detail = await authorised(`control/actions/${encodeURIComponent(state.selected)}`, {
          headers: state.detailTag ? { "If-None-Match": state.detailTag } : {},
        });
        if (detail.status !== 304) {
          state.detail = detail.body;
          state.detailTag = detail.etag;
          renderDetail();
        }
      }
      state.lastOk = Date.now();
      $("refused").hidden = true;
    } catch (problem) {
      if (problem instanceof Refused && problem.status === 403) {
        // Signed in, but not allowed: say why, and show nothing that could be acted on.
        clearInterval(state.timer);
        $("refused").textContent = t("refused", { message: problem.message });
        $("refused").hidden = false;
        $("list").hidden = true;
        $("detail").hidden = true;
      } else if (!(problem instanceof Refused) && !(problem instanceof Offline)) {
        setTimeout(() => {
          throw problem; // a bug of ours: let it show in the console, not pass as a stale poll
        });
      }
    } finally {
      state.polling = false;
    }
    renderFreshness();
  }

  function renderFreshness() {
    const box = $("freshness");
    if (!state.idToken || $("refused").hidden === false) {
      box.textContent = "";
      return;
    }
    const last = state.lastOk ? clock(new Date(state.lastOk).toISOString()) : t("never");
    const stale = !state.lastOk || Date.now() - state.lastOk > STALE_AFTER * POLL_MS;
    box.textContent = stale && state.lastOk !== null ? t("stale", { time: last }) : state.lastOk ? t("fresh", { time: last }) : "";
    box.classList.toggle("control__freshness--stale", stale && state.lastOk !== null);
    box.dataset.stale = stale && state.lastOk !== null ? "true" : "false";
  }

  function incident(name) {
    return t(`incident_${name}`);
  }

  function renderList() {
    const list = $("actions");
    list.replaceChildren();
    $("list-empty").hidden = state.list.length > 0;
    for (const action of state.list) {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "control__pick";
      pick.dataset.actionId = action.action_id;
      pick.setAttribute("aria-current", String(action.action_id === state.selected));
      const name = document.createElement("strong");
      name.textContent = `${action.ref} · ${incident(action.incident)}`;
      const started = document.createElement("small");
      started.textContent = when(action.created_at);
      pick.append(name, started);
      pick.addEventListener("click", () => select(action.action_id));
      item.append(pick);
      list.append(item);
    }
  }

  function select(actionId) {
    if (actionId === state.selected) return;
    state.selected = actionId;
    state.detail = null;
    state.detailTag = null;
    renderList();
    poll().then(() => $("detail-title").focus());
  }

  function fact(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function renderDetail() {
    const data = state.detail;
    $("detail").hidden = !data;
    if (!data) return;
    const action = data.action;
    $("detail-title").textContent = `${action.ref} · ${incident(action.incident)}`;
    $("detail-description").textContent = action.description || "";
    const facts = $("detail-facts");
    facts.replaceChildren();
    fact(facts, t("facts_status"), t(`status_${action.status}`));
    fact(facts, t("facts_started"), when(action.created_at));
    if (action.closed_at) fact(facts, t("facts_closed"), when(action.closed_at));
    else if (action.expires_at) fact(facts, t("facts_ends"), when(action.expires_at));
    renderReach(data.channels || {});
    renderChart(data.series || { minutes: [] });
    renderSightings(data.sightings || []);
    renderUpdates(action);
    renderMap(data);
    $("acts").hidden = action.status !== "active";
  }

  function renderReach(channels) {
    const rows = $("reach-rows");
    rows.replaceChildren();
    for (const channel of CHANNELS) {
      const counts = channels[channel] || {};
      const row = document.createElement("tr");
      row.dataset.channel = channel;
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = t(`channel_${channel}`);
      row.append(name);
      for (const key of [...COUNTS, "answered"]) {
        const cell = document.createElement("td");
        cell.dataset.count = key;
        cell.textContent = key in counts ? String(counts[key]) : "–";
        row.append(cell);
      }
      rows.append(row);
    }
  }

  // ---- the chart: alerts sent per minute per channel, an inline SVG --------------------------

  const SVG = "http://www.w3.org/2000/svg";

  function svg(name, attributes, text) {
    const el = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function renderChart(series) {
    const box = $("chart");
    box.replaceChildren();
    const minutes = series.minutes || [];
    if (!minutes.length) {
      $("chart-caption").textContent = t("chart_empty");
      return;
    }
    const width = 480;
    const height = 200;
    const pad = { left: 44, right: 64, top: 12, bottom: 28 }; // the right margin holds the names
    const top = Math.max(1, ...CHANNELS.flatMap((c) => series[c] || []));
    // A step per minute: minute i spans [x(i), x(i + 1)], so one minute is a line, not a dot.
    const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / minutes.length;
    const end = new Date(Date.parse(minutes[minutes.length - 1]) + 60000).toISOString();
    const y = (v) => height - pad.bottom - (v * (height - pad.top - pad.bottom)) / top;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-caption" });
    chart.append(
      svg("line", { class: "chart__axis", x1: pad.left, y1: height - pad.bottom, x2: x(minutes.length), y2: height - pad.bottom }),
      svg("line", { class: "chart__axis", x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom }),
      svg("text", { class: "chart__label", x: pad.left - 6, y: pad.top + 10, "text-anchor": "end" }, String(top)),
      svg("text", { class: "chart__label", x: pad.left - 6, y: height - pad.bottom, "text-anchor": "end" }, "0"),
      svg("text", { class: "chart__label", x: pad.left, y: height - 8 }, clock(minutes[0]).slice(0, 5)),
      svg("text", { class: "chart__label", x: x(minutes.length), y: height - 8, "text-anchor": "end" }, clock(end).slice(0, 5)),
    );
    const totals = {};
    CHANNELS.forEach((channel, n) => {
      const values = series[channel] || [];
      totals[channel] = values.reduce((a, b) => a + b, 0);
      if (!totals[channel]) return;
      const points = values.flatMap((v, i) => [`${x(i).toFixed(1)},${y(v).toFixed(1)}`, `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`]).join(" ");
      const line = svg("polyline", { points });
      line.setAttribute("class", `chart__line chart__line--${channel}`);
      line.dataset.channel = channel;
      chart.append(line);
      // The channel's name at its line's end: the lines are told apart without colour.
      const last = values.length - 1;
      chart.append(svg("text", { class: "chart__label", x: x(last + 1) + 6, y: y(values[last]) + 4 + 12 * n - 12 }, t(`channel_${channel}`)));
    });
    box.append(chart);
    $("chart-caption").textContent = t("chart_caption", {
      from: clock(minutes[0]).slice(0, 5),
      to: clock(end).slice(0, 5),
      sms: totals.sms,
      voice: totals.voice,
      push: totals.push,
    });
  }

  // ---- sightings and updates -----------------------------------------------------------------

  function sightingLabel(s) {
    return t("sighting", { time: clock(s.seen_at), distance: distance(s.distance_m), direction: direction(s.bearing_deg) });
  }

  function sightingText(s) {
    return s.text ? t("sighting_text", { text: s.text }) : t("sighting_no_text");
  }

  function renderSightings(sightings) {
    const list = $("sightings");
    list.replaceChildren();
    $("sightings-empty").hidden = sightings.length > 0;
    for (const s of sightings) {
      const item = document.createElement("li");
      item.textContent = `${sightingLabel(s)}: ${sightingText(s)}`;
      list.append(item);
    }
  }

  function renderUpdates(action) {
    const list = $("updates");
    list.replaceChildren();
    const updates = action.updates || [];
    $("updates-empty").hidden = updates.length > 0 || Boolean(action.outcome);
    for (const u of updates) {
      const item = document.createElement("li");
      const counts = u.counts || {};
      item.textContent = `${t("update_line", { time: clock(u.at), message: u.message || "" })} (${t("update_counts", {
        sent: counts.sent || 0,
        failed: counts.failed || 0,
        unknown: counts.unknown || 0,
      })})`;
      list.append(item);
    }
    const result = $("result");
    result.hidden = !action.outcome;
    result.textContent = action.outcome
      ? t("result", { time: clock(action.closed_at), outcome: t(`outcome_${action.outcome}`) }) +
        (action.result_message ? ` ${action.result_message}` : "")
      : "";
  }

  // ---- the map -------------------------------------------------------------------------------

  let map = null;
  let areaLayer = null;
  let sightingsLayer = null;

  function ensureMap() {
    if (map) return map;
    // A view first: Leaflet adds layers (and can measure them) only once the map has one.
    map = L.map("map", { keyboard: true, attributionControl: true }).setView([52.13, 5.29], 8);
    L.tileLayer(meta("burgernet-map-tiles"), {
      maxZoom: 19,
      attribution: meta("burgernet-map-attribution"),
    }).addTo(map);
    sightingsLayer = L.layerGroup().addTo(map);
    map.attributionControl.setPrefix(false);
    return map;
  }

  const AREA_STYLE = { color: "#1d4ed8", weight: 3, fillOpacity: 0.12 };
  const lonLat = (point) => [point[1], point[0]];

  // A corridor: the line, and everything within buffer_m of it drawn as one circle per vertex and
  // one band per segment (metres to degrees on a local flat approximation: fine for a few km).
  function corridor(area) {
    const group = L.featureGroup();
    const line = area.coordinates.map(lonLat);
    const buffer = area.buffer_m;
    const piece = { ...AREA_STYLE, weight: 0 };
    for (const point of line) L.circle(point, { ...piece, radius: buffer }).addTo(group);
    for (let i = 0; i + 1 < line.length; i++) {
      const [a, b] = [line[i], line[i + 1]];
      const cos = Math.cos((a[0] * Math.PI) / 180);
      const dx = (b[1] - a[1]) * cos;
      const dy = b[0] - a[0];
      const length = Math.hypot(dx, dy) || 1;
      const off = buffer / 111320; // metres to degrees of latitude
      const nx = (-dy / length) * off;
      const ny = (dx / length) * off;
      const shift = (p, s) => [p[0] + s * nx, p[1] + (s * ny) / cos];
      L.polygon([shift(a, 1), shift(b, 1), shift(b, -1), shift(a, -1)], piece).addTo(group);
    }
    L.polyline(line, { color: "#1d4ed8", weight: 3, dashArray: "6 4" }).addTo(group);
    return group;
  }

  function areaShape(area) {
    if (area.type === "Polygon") return L.polygon(area.coordinates.map((ring) => ring.map(lonLat)), AREA_STYLE);
    if (area.type === "LineString") return corridor(area);
    return L.circle([area.lat, area.lon], { ...AREA_STYLE, radius: area.radius_m });
  }

  function popup(s) {
    const box = document.createElement("div");
    const time = document.createElement("strong");
    time.textContent = clock(s.seen_at);
    const text = document.createElement("p");
    text.textContent = sightingText(s);
    const far = document.createElement("p");
    far.textContent = `${distance(s.distance_m)} ${direction(s.bearing_deg)}`;
    box.append(time, text, far);
    return box;
  }

  function renderMap(data) {
    ensureMap();
    const action = data.action;
    const areaKey = JSON.stringify(action.area);
    if (state.drawn.id !== action.action_id || state.drawn.area !== areaKey) {
      if (areaLayer) areaLayer.remove();
      areaLayer = areaShape(action.area).addTo(map);
      map.invalidateSize();
      map.fitBounds(areaLayer.getBounds(), { padding: [16, 16] });
      state.drawn.id = action.action_id;
      state.drawn.area = areaKey;
      state.drawn.sightings = "";
    }
    const sightings = data.sightings || [];
    const key = JSON.stringify(sightings.map((s) => [s.received_at, s.lat, s.lon]));
    if (key === state.drawn.sightings) return;
    state.drawn.sightings = key;
    sightingsLayer.clearLayers();
    for (const s of sightings) {
      const icon = L.divIcon({ className: "sighting-icon", html: '<span class="sighting-marker"></span>', iconSize: [24, 24] });
      // title and alt name the marker for screen readers and keyboard users (Leaflet focuses it).
      const marker = L.marker([s.lat, s.lon], { icon, keyboard: true, title: sightingLabel(s), alt: sightingLabel(s) });
      marker.bindPopup(popup(s));
      sightingsLayer.addLayer(marker);
    }
  }

  // ---- acting: confirm, then the API; its error text shown as it comes -------------------------

  function confirmed(text, yes) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yes;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      $("confirm-yes").focus();
    });
  }

  async function act(name, path, options, done) {
    const action = state.detail && state.detail.action;
    if (!action) return;
    const submit = $(`${name}-submit`);
    submit.setAttribute("aria-disabled", "true");
    state.keys[name] = state.keys[name] || newKey();
    try {
      await authorised(`control/actions/${encodeURIComponent(action.action_id)}/${path}`, {
        ...options,
        headers: { "Idempotency-Key": state.keys[name], ...(options.headers || {}) },
      });
      delete state.keys[name];
      showError(`${name}-error`, "");
      setStatus(t(done), "ok");
      state.detailTag = null;
      state.listTag = null;
      await poll();
      return true;
    } catch (problem) {
      if (problem instanceof Refused) delete state.keys[name]; // answered: the next try is new
      showError(`${name}-error`, problem instanceof Refused ? problem.message : t("network_error"));
      $(`${name}-error`).scrollIntoView({ block: "nearest" });
      return false;
    } finally {
      submit.removeAttribute("aria-disabled");
    }
  }

  async function sendUpdate(event) {
    event.preventDefault();
    const message = $("update-message").value.trim();
    const description = $("update-description").value.trim();
    if (!message) {
      showError("update-error", t("update_missing"));
      $("update-message").focus();
      return;
    }
    const ref = state.detail.action.ref;
    if (!(await confirmed(t("update_confirm", { ref, message }), t("update_yes")))) return;
    const body = { message, ...(description ? { description } : {}) };
    const ok = await act("update", "updates", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }, "update_done");
    if (ok) {
      $("update-message").value = "";
      $("update-description").value = "";
    }
  }

  async function sendPhoto(event) {
    event.preventDefault();
    const file = $("photo-file").files[0];
    if (!file) {
      showError("photo-error", t("photo_missing"));
      $("photo-file").focus();
      return;
    }
    const ref = state.detail.action.ref;
    if (!(await confirmed(t("photo_confirm", { ref, name: file.name }), t("photo_yes")))) return;
    const ok = await act("photo", "photo", {
      method: "PUT",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
      timeoutMs: 60000,
    }, "photo_done");
    if (ok) $("photo-file").value = "";
  }

  async function closeAction(event) {
    event.preventDefault();
    const outcome = $("close-outcome").value;
    const message = $("close-message").value.trim();
    const ref = state.detail.action.ref;
    if (!(await confirmed(t("close_confirm", { ref, outcome: t(`outcome_${outcome}`) }), t("close_yes")))) return;
    const ok = await act("close", "close", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ outcome, ...(message ? { message } : {}) }),
    }, "close_done");
    if (ok) $("close-message").value = "";
  }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut());
    $("language-switch").addEventListener("click", () => {
      state.lang = state.lang === "nl" ? "en" : "nl";
      renderTexts();
    });
    $("update-form").addEventListener("submit", sendUpdate);
    $("photo-form").addEventListener("submit", sendPhoto);
    $("close-form").addEventListener("submit", closeAction);
    setInterval(renderFreshness, 1000);
    renderTexts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
