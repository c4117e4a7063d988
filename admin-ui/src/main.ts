import './style.css';
import { App } from './shell/app';

void new App().start();
