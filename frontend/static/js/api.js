// The pages' calls to Verbatim's API (/api/v1/, the same contract scripts
// use): the session cookie and the CSRF token, JSON in and out, and the
// readable sentence of a problem-details error.

export const API = "/api/v1";

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
}

export function apiRequest(path, { method = "GET", json, body, headers = {} } = {}) {
  const options = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken(), ...headers },
  };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    options.body = body;
  }
  return fetch(API + path, options);
}

// The message to show for a failed call: the API's `detail` (the pages' own words).
export async function problemMessage(response) {
  const answer = await response.json().catch(() => ({}));
  return answer.detail || answer.error || `The server answered ${response.status}.`;
}

// "12 s", "3:05", "1:02:05": the server's human_duration.
export function humanDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.floor(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}
