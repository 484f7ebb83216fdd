// The one door from the UI to the Rust side. Every command's error arrives as
// { code, message } (the client crate's error type); the UI shows the message.
import { invoke } from "@tauri-apps/api/core";

export interface BackendError {
  code: string;
  message: string;
}

export interface ServerStatus {
  server_url: string;
  reachable: boolean;
  database: string | null;
  version: string | null;
  problem: BackendError | null;
}

function asBackendError(e: unknown): BackendError {
  if (e && typeof e === "object" && "message" in e) {
    const err = e as { code?: unknown; message: unknown };
    return { code: String(err.code ?? "error"), message: String(err.message) };
  }
  return { code: "error", message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asBackendError(e);
  }
}

export const backend = {
  serverStatus: () => call<ServerStatus>("server_status"),
};
