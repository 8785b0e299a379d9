// Preact with htm: JSX-like templates in tagged strings, so the build needs no JSX plugin.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
